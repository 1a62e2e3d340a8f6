package certwatch

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxFileSize is the size above which a file is not taken for a certificate
// file. The largest common one, a system CA bundle, is about 220 KiB.
const maxFileSize = 4 << 20

// ErrNoCertificate reports data that contains no certificate, such as a
// private key or a kubeconfig whose certificates are only referenced by path.
var ErrNoCertificate = errors.New("no certificate found")

var pemCertificateBegin = []byte("-----BEGIN CERTIFICATE-----")

// ReadFile reads the certificates in the file at path: PEM blocks of type
// CERTIFICATE, DER, or the certificate data embedded in a kubeconfig. When
// only some of them can be parsed, it returns those together with an error
// for the rest. A file without certificates, a file over 4 MiB or a
// non-regular file yields an error wrapping ErrNoCertificate.
func ReadFile(path string) ([]*Certificate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: not a regular file: %w", path, ErrNoCertificate)
	}
	if info.Size() > maxFileSize {
		return nil, fmt.Errorf("read %s: larger than %d MiB: %w", path, maxFileSize>>20, ErrNoCertificate)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}

	certs, err := parse(path, filepath.Dir(path), data)
	if err != nil {
		err = fmt.Errorf("parse %s: %w", path, err)
	}
	return certs, err
}

// ParseCertificates reads certificates from data in any form that ReadFile
// accepts. Source names them, and they supersede only each other.
func ParseCertificates(source string, data []byte) ([]*Certificate, error) {
	return parse(source, source, data)
}

func parse(source, scope string, data []byte) ([]*Certificate, error) {
	switch {
	case bytes.Contains(data, []byte("-----BEGIN ")):
		return parsePEM(source, scope, data)
	case len(data) > 0 && data[0] == 0x30: // an ASN.1 SEQUENCE starts every DER certificate
		parsed, err := x509.ParseCertificates(data)
		if err != nil {
			return nil, ErrNoCertificate
		}
		certs := make([]*Certificate, 0, len(parsed))
		for i, c := range parsed {
			certs = append(certs, newCertificate(c, indexedSource(source, i), scope))
		}
		return certs, nil
	}
	return parseKubeconfig(source, scope, data)
}

// parsePEM reads the CERTIFICATE blocks of data and skips other block types,
// such as the private key that the kubelet stores in the same file. A block
// that fails to parse keeps its index, so the sources of the other
// certificates stay the same.
func parsePEM(source, scope string, data []byte) ([]*Certificate, error) {
	var (
		certs  []*Certificate
		errs   []error
		blocks int
	)
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse certificate %d: %w", blocks, err))
		} else {
			certs = append(certs, newCertificate(c, indexedSource(source, blocks), scope))
		}
		blocks++
	}

	// pem.Decode skips a block whose base64 or END line is broken, so count
	// the BEGIN lines to notice it.
	if n := bytes.Count(data, pemCertificateBegin); n > blocks {
		errs = append(errs, fmt.Errorf("invalid PEM: %d of %d certificate blocks cannot be decoded", n-blocks, n))
	}
	if len(certs) == 0 && len(errs) == 0 {
		return nil, ErrNoCertificate
	}
	return certs, errors.Join(errs...)
}
