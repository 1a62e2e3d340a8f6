package certwatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"
)

// Operations that an EndpointError names.
const (
	OpConnect   = "connect"
	OpHandshake = "handshake"
)

// EndpointError reports a TLS endpoint whose certificates could not be read:
// the TCP connection failed (Op is OpConnect), or the TLS handshake failed
// before the server sent its certificates (Op is OpHandshake).
type EndpointError struct {
	Address string
	Op      string
	Err     error
}

func (e *EndpointError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Op, e.Address, e.Err)
}

func (e *EndpointError) Unwrap() error { return e.Err }

// Probe connects to the TLS endpoint at address (host:port) and returns the
// chain that the server presents, leaf first. The server name is sent as SNI.
// When it is empty, the host is sent unless it is an IP address. Timeout
// limits the connection and the handshake together.
//
// Probe does not verify the chain, because it must read certificates that
// verification would reject, such as expired ones. It sends no application
// data. A handshake that fails after the server sent its certificates, as
// with a server that requires a client certificate, still returns them
// without an error.
func Probe(ctx context.Context, address, serverName string, timeout time.Duration) ([]*Certificate, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, &EndpointError{Address: address, Op: OpConnect, Err: err}
	}
	defer conn.Close()

	sni := serverName
	if host, _, err := net.SplitHostPort(address); err == nil && sni == "" && net.ParseIP(host) == nil {
		sni = host
	}
	var chain []*x509.Certificate
	tlsConn := tls.Client(conn, &tls.Config{
		ServerName:         sni,
		InsecureSkipVerify: true, // the chain is inspected, not trusted
		VerifyConnection: func(cs tls.ConnectionState) error {
			chain = cs.PeerCertificates
			return nil
		},
	})
	err = tlsConn.HandshakeContext(ctx)
	if len(chain) == 0 {
		if err == nil {
			err = errors.New("server sent no certificate")
		}
		return nil, &EndpointError{Address: address, Op: OpHandshake, Err: err}
	}

	source := EndpointSource(address, serverName)
	certs := make([]*Certificate, 0, len(chain))
	for i, c := range chain {
		certs = append(certs, newCertificate(c, indexedSource(source, i), source))
	}
	return certs, nil
}

// EndpointSource returns the source name of an endpoint's certificates:
// the address, plus "#sni=NAME" when a server name other than the host is set.
func EndpointSource(address, serverName string) string {
	host, _, err := net.SplitHostPort(address)
	if serverName == "" || (err == nil && serverName == host) {
		return address
	}
	return address + "#sni=" + serverName
}

// ParseEndpoint returns the host:port address that s names. It accepts
// host:port, [IPv6]:port, and https:// URLs, whose port defaults to 443.
func ParseEndpoint(s string) (string, error) {
	if u, err := url.Parse(s); err == nil && u.Scheme == "https" {
		if u.Host == "" {
			return "", fmt.Errorf("invalid endpoint %q: missing host", s)
		}
		port := u.Port()
		if port == "" {
			port = "443"
		}
		s = net.JoinHostPort(u.Hostname(), port)
	}

	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("invalid endpoint %q: %w (expected host:port)", s, err)
	}
	if host == "" {
		return "", fmt.Errorf("invalid endpoint %q: missing host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid endpoint %q: port %q is not a number from 1 to 65535", s, port)
	}
	return s, nil
}
