package certwatch

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Certificate is the part of an X.509 certificate that expiry checks and
// alerts use.
type Certificate struct {
	// Source names where the certificate was found. The package
	// documentation describes its form.
	Source      string    `json:"source"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	DNSNames    []string  `json:"dns_names"`
	IPAddresses []string  `json:"ip_addresses"`
	Serial      string    `json:"serial"` // hexadecimal, as openssl prints it
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	IsCA        bool      `json:"is_ca"`
	// SHA256 is the hexadecimal SHA-256 fingerprint of the DER encoding. It
	// identifies the certificate across sources.
	SHA256 string `json:"sha256"`

	// scope groups the certificates among which a newer one supersedes an
	// older one: the directory of a file, or the endpoint.
	scope string
}

func newCertificate(c *x509.Certificate, source, scope string) *Certificate {
	sum := sha256.Sum256(c.Raw)
	ips := make([]string, 0, len(c.IPAddresses))
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	return &Certificate{
		Source:      source,
		Subject:     c.Subject.String(),
		Issuer:      c.Issuer.String(),
		DNSNames:    append([]string{}, c.DNSNames...),
		IPAddresses: ips,
		Serial:      formatSerial(c.SerialNumber),
		NotBefore:   c.NotBefore,
		NotAfter:    c.NotAfter,
		IsCA:        c.IsCA,
		SHA256:      hex.EncodeToString(sum[:]),
		scope:       scope,
	}
}

// formatSerial formats a serial number as openssl x509 -serial prints it, in
// whole bytes of upper-case hexadecimal. So 0x6B7 is "06B7", 0 is "00", and
// a negative serial starts with "-".
func formatSerial(n *big.Int) string {
	digits := "00"
	if b := n.Bytes(); len(b) > 0 {
		digits = strings.ToUpper(hex.EncodeToString(b))
	}
	if n.Sign() < 0 {
		return "-" + digits
	}
	return digits
}

// indexedSource returns base for the first certificate of a group and
// base[i] for the others.
func indexedSource(base string, i int) string {
	if i == 0 {
		return base
	}
	return fmt.Sprintf("%s[%d]", base, i)
}

// Lifetime returns the time from NotBefore to NotAfter.
func (c *Certificate) Lifetime() time.Duration {
	return c.NotAfter.Sub(c.NotBefore)
}

// Name returns the subject, or the first DNS name or IP address when the
// subject is empty, as modern server certificates may have.
func (c *Certificate) Name() string {
	switch {
	case c.Subject != "":
		return c.Subject
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.IPAddresses) > 0:
		return c.IPAddresses[0]
	}
	return "serial " + c.Serial
}

// ShortNames returns the DNS names and IP addresses, joined by commas, with
// at most limit entries and a "+N" count of the rest.
func (c *Certificate) ShortNames(limit int) string {
	names := append(append([]string{}, c.DNSNames...), c.IPAddresses...)
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s +%d", strings.Join(names[:limit], ", "), len(names)-limit)
}

// FormatTimeLeft writes d in days and hours ("29d 4h"), hours and minutes
// ("5h 12m"), minutes ("12m") or seconds ("45s"), with a leading "-" when d
// is negative. It truncates towards zero.
func FormatTimeLeft(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	days := d / (24 * time.Hour)
	hours := (d % (24 * time.Hour)) / time.Hour
	minutes := (d % time.Hour) / time.Minute
	switch {
	case days > 0:
		return fmt.Sprintf("%s%dd %dh", sign, days, hours)
	case hours > 0:
		return fmt.Sprintf("%s%dh %dm", sign, hours, minutes)
	case minutes > 0:
		return fmt.Sprintf("%s%dm", sign, minutes)
	}
	return fmt.Sprintf("%s%ds", sign, d/time.Second)
}
