package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const certsDay = 24 * time.Hour

// certsTestCert is a self-signed certificate with its key.
type certsTestCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// newCertsTestCert creates a self-signed certificate valid from
// now+notBefore to now+notAfter.
func newCertsTestCert(t *testing.T, cn string, dns []string, notBefore, notAfter time.Duration) *certsTestCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		DNSNames:     dns,
		NotBefore:    now.Add(notBefore),
		NotAfter:     now.Add(notAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &certsTestCert{cert: cert, key: key}
}

func (c *certsTestCert) pem() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

func (c *certsTestCert) keyPEM(t *testing.T) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(c.key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// serveCertsTLS serves certificates on 127.0.0.1 until the test ends, picking
// the one whose DNS name equals the client's server name, else the first.
func serveCertsTLS(t *testing.T, certs ...*certsTestCert) string {
	t.Helper()
	cfg := &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		pick := certs[0]
		for _, c := range certs {
			if len(c.cert.DNSNames) > 0 && c.cert.DNSNames[0] == hello.ServerName {
				pick = c
			}
		}
		return &tls.Certificate{Certificate: [][]byte{pick.cert.Raw}, PrivateKey: pick.key}, nil
	}}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				_, _ = conn.Read(make([]byte, 1)) // runs the handshake, then waits for the client to close
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

func writeCertsFile(t *testing.T, path string, data ...[]byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, bytes.Join(data, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCertsCmd(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := runCerts(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCertsTable(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	valid := newCertsTestCert(t, "long", []string{"long.test"}, -certsDay, 300*certsDay)
	warning := newCertsTestCert(t, "kubelet", nil, -80*certsDay, 20*certsDay)
	superseded := newCertsTestCert(t, "kubelet", nil, -400*certsDay, -35*certsDay)
	writeCertsFile(t, filepath.Join(pki, "long.crt"), valid.pem())
	writeCertsFile(t, filepath.Join(pki, "long.key"), valid.keyPEM(t))
	writeCertsFile(t, filepath.Join(pki, "kubelet-new.pem"), warning.pem(), warning.keyPEM(t))
	writeCertsFile(t, filepath.Join(pki, "kubelet-old.pem"), superseded.pem(), superseded.keyPEM(t))
	addr := serveCertsTLS(t, newCertsTestCert(t, "api", []string{"api.test", "a.test", "b.test", "c.test"}, -300*certsDay, 5*certsDay))

	code, out, errOut := runCertsCmd(t, "", pki, addr)
	if code != exitOK {
		t.Fatalf("exit %d, want 0 (a superseded expired certificate does not count); stderr: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want a header and 4 rows:\n%s", len(lines), out)
	}
	header := strings.Fields(lines[0])
	if strings.Join(header, " ") != "SOURCE SUBJECT DNS NAMES NOT AFTER TIME LEFT STATUS" {
		t.Errorf("header = %q", lines[0])
	}
	wantRows := []struct{ source, subject, names, status string }{
		{filepath.Join(pki, "kubelet-old.pem"), "CN=kubelet", "-", "superseded"},
		{addr, "CN=api", "api.test, a.test, b.test +1", "critical"},
		{filepath.Join(pki, "kubelet-new.pem"), "CN=kubelet", "-", "warning"},
		{filepath.Join(pki, "long.crt"), "CN=long", "long.test", "ok"},
	}
	for i, want := range wantRows {
		row := lines[i+1]
		if !strings.HasPrefix(row, want.source+" ") || !strings.Contains(row, " "+want.subject+" ") ||
			!strings.Contains(row, " "+want.names+" ") || !strings.HasSuffix(row, " "+want.status) {
			t.Errorf("row %d = %q, want source %s, subject %s, names %q, status %s", i+1, row, want.source, want.subject, want.names, want.status)
		}
	}
	if !strings.Contains(lines[2], " 4d 23h ") {
		t.Errorf("row 2 = %q, want time left 4d 23h", lines[2])
	}
}

func TestCertsJSON(t *testing.T) {
	dir := t.TempDir()
	expired := newCertsTestCert(t, "expired", []string{"old.test"}, -100*certsDay, -2*certsDay)
	path := writeCertsFile(t, filepath.Join(dir, "old.crt"), expired.pem())
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachable := closed.Addr().String()
	closed.Close()

	// Options after the arguments are parsed too.
	code, out, errOut := runCertsCmd(t, "", path, unreachable, "--output", "json")
	if code != exitError {
		t.Errorf("exit %d, want 1 for an expired certificate and an unreachable endpoint", code)
	}
	if !strings.Contains(errOut, "connect "+unreachable) {
		t.Errorf("stderr = %q, want the connection error", errOut)
	}

	var got struct {
		Certificates []struct {
			Source      string    `json:"source"`
			Subject     string    `json:"subject"`
			DNSNames    []string  `json:"dns_names"`
			Serial      string    `json:"serial"`
			NotAfter    time.Time `json:"not_after"`
			Status      string    `json:"status"`
			SecondsLeft int64     `json:"seconds_left"`
			SHA256      string    `json:"sha256"`
		} `json:"certificates"`
		Errors []struct {
			Source string `json:"source"`
			Error  string `json:"error"`
		} `json:"errors"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if len(got.Certificates) != 1 {
		t.Fatalf("certificates = %+v, want one", got.Certificates)
	}
	c := got.Certificates[0]
	if c.Source != path || c.Subject != "CN=expired" || c.Status != "expired" || len(c.SHA256) != 64 || c.Serial == "" {
		t.Errorf("certificate = %+v", c)
	}
	if len(c.DNSNames) != 1 || c.DNSNames[0] != "old.test" {
		t.Errorf("dns_names = %q", c.DNSNames)
	}
	if !c.NotAfter.Equal(expired.cert.NotAfter) {
		t.Errorf("not_after = %v, want %v", c.NotAfter, expired.cert.NotAfter)
	}
	if c.SecondsLeft > -2*86400+60 || c.SecondsLeft < -2*86400-60 {
		t.Errorf("seconds_left = %d, want about -172800", c.SecondsLeft)
	}
	if len(got.Errors) != 1 || got.Errors[0].Source != unreachable || !strings.Contains(got.Errors[0].Error, "connect "+unreachable) {
		t.Errorf("errors = %+v, want the unreachable endpoint", got.Errors)
	}
}

func TestCertsInputs(t *testing.T) {
	dir := t.TempDir()
	good := newCertsTestCert(t, "good", []string{"good.test"}, -certsDay, 200*certsDay)
	named := newCertsTestCert(t, "named", []string{"api.internal"}, -certsDay, 200*certsDay)
	notYet := newCertsTestCert(t, "future", nil, certsDay, 200*certsDay)
	keyFile := writeCertsFile(t, filepath.Join(dir, "server.key"), good.keyPEM(t))
	writeCertsFile(t, filepath.Join(dir, "glob", "a.crt"), good.pem())
	writeCertsFile(t, filepath.Join(dir, "glob", "b.txt"), []byte("not a certificate"))
	future := writeCertsFile(t, filepath.Join(dir, "future.crt"), notYet.pem())
	longLived := writeCertsFile(t, filepath.Join(dir, "long.crt"), newCertsTestCert(t, "long", nil, -300*certsDay, 200*certsDay).pem())
	addr := serveCertsTLS(t, good, named)

	tests := []struct {
		name      string
		stdin     string
		args      []string
		wantCode  int
		wantOut   []string // substrings of stdout
		wantError string   // substring of stderr
	}{
		{name: "standard input", stdin: string(good.pem()), args: []string{"-"}, wantCode: exitOK, wantOut: []string{"stdin ", "CN=good"}},
		{name: "glob", args: []string{filepath.Join(dir, "glob", "*")}, wantCode: exitOK, wantOut: []string{filepath.Join(dir, "glob", "a.crt")}},
		{name: "server name", args: []string{"--server-name", "api.internal", "https://" + addr}, wantCode: exitOK, wantOut: []string{addr + "#sni=api.internal ", "CN=named"}},
		{name: "not yet valid", args: []string{future}, wantCode: exitError, wantOut: []string{"not yet valid"}},
		{name: "thresholds", args: []string{"--warning", "250d", "--critical", "220d", longLived}, wantCode: exitOK, wantOut: []string{"critical"}},
		{name: "named file without certificate", args: []string{keyFile}, wantCode: exitError, wantError: "no certificate found"},
		{name: "nothing found", args: []string{filepath.Join(dir, "empty-*")}, wantCode: exitError, wantError: "no certificates found"},
		{name: "bad standard input", stdin: "junk", args: []string{"-"}, wantCode: exitError, wantError: "parse standard input: no certificate found"},
		{name: "no arguments", wantCode: exitUsage, wantError: "no PATH or HOST:PORT given"},
		{name: "bad output", args: []string{"--output", "xml", addr}, wantCode: exitUsage, wantError: `invalid --output "xml"`},
		{name: "unknown flag", args: []string{"--verbose", addr}, wantCode: exitUsage, wantError: "flag provided but not defined"},
		{name: "missing path", args: []string{filepath.Join(dir, "missing.crt")}, wantCode: exitUsage, wantError: "neither a readable path"},
		{name: "critical above warning", args: []string{"--critical", "40d", addr}, wantCode: exitUsage, wantError: "--critical 40d must be less than --warning 30d"},
		{name: "bad duration", args: []string{"--warning", "30", addr}, wantCode: exitUsage, wantError: `invalid duration "30"`},
		{name: "help", args: []string{"--help"}, wantCode: exitOK, wantError: "Exit status: 0 when every input was read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCertsCmd(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout does not contain %q:\n%s", w, out)
				}
			}
			if tt.wantError != "" && !strings.Contains(errOut, tt.wantError) {
				t.Errorf("stderr does not contain %q:\n%s", tt.wantError, errOut)
			}
		})
	}
}
