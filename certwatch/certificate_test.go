package certwatch

import (
	"math/big"
	"path/filepath"
	"testing"
	"time"
)

func TestCertificateSerialLikeOpenSSL(t *testing.T) {
	now := time.Now()
	cases := []struct {
		name   string
		serial string // hexadecimal
		want   string // as openssl x509 -serial prints it
	}{
		{"first byte below 0x10", "6B71A0DE3C5F1D2E1", "06B71A0DE3C5F1D2E1"},
		{"single digit", "7", "07"},
		{"whole bytes", "6B71A0DE3C5F1D2E", "6B71A0DE3C5F1D2E"},
		{"high bit set", "F00D", "F00D"},
		{"lower case digits", "abcdef0123", "ABCDEF0123"},
		{"zero", "0", "00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			serial, ok := new(big.Int).SetString(tc.serial, 16)
			if !ok {
				t.Fatalf("invalid test serial %q", tc.serial)
			}
			leaf := issue(t, certSpec{cn: "leaf", notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour), serial: serial}, nil)
			path := writeFile(t, filepath.Join(t.TempDir(), "leaf.crt"), leaf.pem())
			certs, err := ReadFile(path)
			if err != nil {
				t.Fatalf("ReadFile: %v", err)
			}
			if len(certs) != 1 {
				t.Fatalf("got %d certificates, want 1", len(certs))
			}
			if certs[0].Serial != tc.want {
				t.Errorf("Serial = %q, want %q", certs[0].Serial, tc.want)
			}
		})
	}
}
