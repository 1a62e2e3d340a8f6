package certwatch

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReadFileFields(t *testing.T) {
	now := time.Now()
	ca := issue(t, certSpec{cn: "test-ca", notBefore: now.Add(-time.Hour), notAfter: now.Add(10 * 365 * 24 * time.Hour), ca: true}, nil)
	leaf := issue(t, certSpec{
		cn: "kube-apiserver", org: "klaxon", dns: []string{"kubernetes", "kubernetes.default"},
		ips: []net.IP{net.ParseIP("10.96.0.1")}, notBefore: now.Add(-time.Hour), notAfter: now.Add(365 * 24 * time.Hour),
	}, ca)
	path := writeFile(t, filepath.Join(t.TempDir(), "apiserver.crt"), leaf.pem())

	certs, err := ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile: %v", err)
	}
	if len(certs) != 1 {
		t.Fatalf("got %d certificates, want 1", len(certs))
	}
	c := certs[0]
	if c.Source != path {
		t.Errorf("Source = %q, want %q", c.Source, path)
	}
	if c.Subject != "CN=kube-apiserver,O=klaxon" {
		t.Errorf("Subject = %q", c.Subject)
	}
	if c.Issuer != "CN=test-ca" {
		t.Errorf("Issuer = %q", c.Issuer)
	}
	if !slices.Equal(c.DNSNames, []string{"kubernetes", "kubernetes.default"}) {
		t.Errorf("DNSNames = %q", c.DNSNames)
	}
	if !slices.Equal(c.IPAddresses, []string{"10.96.0.1"}) {
		t.Errorf("IPAddresses = %q", c.IPAddresses)
	}
	if !c.NotAfter.Equal(leaf.cert.NotAfter) || !c.NotBefore.Equal(leaf.cert.NotBefore) {
		t.Errorf("validity = %v to %v, want %v to %v", c.NotBefore, c.NotAfter, leaf.cert.NotBefore, leaf.cert.NotAfter)
	}
	if want := fmt.Sprintf("%X", leaf.cert.SerialNumber.Bytes()); c.Serial != want {
		t.Errorf("Serial = %q, want %q", c.Serial, want)
	}
	if len(c.SHA256) != 64 {
		t.Errorf("SHA256 = %q, want 64 hex digits", c.SHA256)
	}
	if c.IsCA {
		t.Error("IsCA = true for a leaf")
	}
}

func TestReadFileForms(t *testing.T) {
	now := time.Now()
	span := func(cn string) *testCert { return issue(t, valid(cn, now, -time.Hour, 24*time.Hour), nil) }
	a, b, c := span("a"), span("b"), span("c")
	secret := b.keyPEM(t)
	b64 := func(data []byte) string { return base64.StdEncoding.EncodeToString(data) }

	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    certificate-authority-data: %s
    server: https://127.0.0.1:6443
users:
- name: kubernetes-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
`, b64(a.pem()), b64(b.pem()), b64(secret))

	tests := []struct {
		name        string
		data        []byte
		wantSources []string // relative to the file's path
		wantCNs     []string
		wantErr     string // substring; "" for none
		noCert      bool   // error wraps ErrNoCertificate
	}{
		{name: "single PEM", data: a.pem(), wantSources: []string{""}, wantCNs: []string{"a"}},
		{name: "bundle", data: concat(a.pem(), b.pem(), c.pem()), wantSources: []string{"", "[1]", "[2]"}, wantCNs: []string{"a", "b", "c"}},
		{name: "certificate with key", data: concat(b.keyPEM(t), a.pem()), wantSources: []string{""}, wantCNs: []string{"a"}},
		{name: "PEM after text", data: concat([]byte("Certificate:\n    Data: ...\n"), a.pem()), wantSources: []string{""}, wantCNs: []string{"a"}},
		{name: "DER", data: a.cert.Raw, wantSources: []string{""}, wantCNs: []string{"a"}},
		{
			name: "kubeconfig", data: []byte(kubeconfig),
			wantSources: []string{"#cluster=kubernetes", "#user=kubernetes-admin"}, wantCNs: []string{"a", "b"},
		},
		{
			name:        "kubeconfig JSON",
			data:        fmt.Appendf(nil, `{"kind":"Config","users":[{"name":"u","user":{"client-certificate-data":%q}}]}`, b64(concat(a.pem(), c.pem()))),
			wantSources: []string{"#user=u", "#user=u[1]"}, wantCNs: []string{"a", "c"},
		},
		{
			name:        "kubeconfig with wrapped base64",
			data:        fmt.Appendf(nil, "users:\n- name: u\n  user:\n    client-certificate-data: >-\n      %s\n      %s\n", b64(a.pem())[:40], b64(a.pem())[40:]),
			wantSources: []string{"#user=u"}, wantCNs: []string{"a"},
		},
		{name: "private key only", data: b.keyPEM(t), noCert: true},
		{name: "empty", data: nil, noCert: true},
		{name: "plain text", data: []byte("not a certificate\n"), noCert: true},
		{name: "DER garbage", data: []byte{0x30, 0x03, 0x01, 0x02}, noCert: true},
		{name: "kubeconfig with file references", data: []byte("users:\n- name: u\n  user:\n    client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem\n"), noCert: true},
		{
			name: "bad PEM block", data: concat(a.pem(), []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"), c.pem()),
			wantSources: []string{"", "[1]"}, wantCNs: []string{"a", "c"}, wantErr: "invalid PEM: 1 of 3 certificate blocks cannot be decoded",
		},
		{
			name: "truncated PEM", data: a.pem()[:200],
			wantErr: "invalid PEM: 1 of 1 certificate blocks cannot be decoded",
		},
		{
			name: "PEM with invalid DER", data: concat(a.pem(), []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")),
			wantSources: []string{""}, wantCNs: []string{"a"}, wantErr: "parse certificate 1: x509:",
		},
		{
			name:        "kubeconfig with bad base64",
			data:        fmt.Appendf(nil, "clusters:\n- name: k\n  cluster:\n    certificate-authority-data: '%s'\nusers:\n- name: u\n  user:\n    client-certificate-data: %s\n", "%%%", b64(a.pem())),
			wantSources: []string{"#user=u"}, wantCNs: []string{"a"},
			wantErr: `line 4: certificate-authority-data of cluster "k": decode base64`,
		},
		{
			name:    "kubeconfig data without certificate",
			data:    fmt.Appendf(nil, "users:\n- name: u\n  user:\n    client-certificate-data: %s\n", b64(secret)),
			wantErr: `line 4: client-certificate-data of user "u": no PEM certificate in the data`,
		},
		{
			name:    "kubeconfig users not a list",
			data:    fmt.Appendf(nil, "clusters:\n- name: k\n  cluster:\n    certificate-authority-data: %s\nusers: %s\n", b64(a.pem()), b64(secret)),
			wantErr: "line 5: users is not a list", wantSources: []string{"#cluster=k"}, wantCNs: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(t.TempDir(), "cert"), tt.data)
			certs, err := ReadFile(path)

			if got := errors.Is(err, ErrNoCertificate); got != tt.noCert {
				t.Errorf("errors.Is(err, ErrNoCertificate) = %v, want %v (err: %v)", got, tt.noCert, err)
			}
			switch {
			case tt.wantErr == "" && !tt.noCert && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if err != nil && bytes.Contains([]byte(err.Error()), []byte(b64(secret)[:20])) {
				t.Errorf("error quotes the private key: %v", err)
			}

			var sources, cns []string
			for _, c := range certs {
				sources = append(sources, strings.TrimPrefix(c.Source, path))
				cns = append(cns, strings.TrimPrefix(c.Subject, "CN="))
			}
			if !slices.Equal(sources, tt.wantSources) {
				t.Errorf("sources = %q, want %q", sources, tt.wantSources)
			}
			if !slices.Equal(cns, tt.wantCNs) {
				t.Errorf("subjects = %q, want %q", cns, tt.wantCNs)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadFile(filepath.Join(dir, "missing.crt")); err == nil || errors.Is(err, ErrNoCertificate) {
		t.Errorf("missing file: err = %v, want a not-found error", err)
	}
	if _, err := ReadFile(dir); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("directory: err = %v, want ErrNoCertificate", err)
	}
	big := writeFile(t, filepath.Join(dir, "big.pem"), bytes.Repeat([]byte("x"), maxFileSize+1))
	if _, err := ReadFile(big); !errors.Is(err, ErrNoCertificate) || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("large file: err = %v, want ErrNoCertificate with the size", err)
	}
}

func TestParseCertificatesSource(t *testing.T) {
	now := time.Now()
	a := issue(t, valid("a", now, -time.Hour, time.Hour), nil)
	certs, err := ParseCertificates("stdin", concat(a.pem(), a.pem()))
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 2 || certs[0].Source != "stdin" || certs[1].Source != "stdin[1]" {
		t.Errorf("sources = %v, want stdin and stdin[1]", certs)
	}
}
