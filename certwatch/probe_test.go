package certwatch

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/klaxon-agent/klaxon/scanner"
)

// serve accepts connections on 127.0.0.1 and passes each to handle until the
// test ends. It returns the address.
func serve(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, ln, handle)
}

func serveOn(t *testing.T, ln net.Listener, handle func(net.Conn)) string {
	t.Helper()
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
				handle(conn)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().String()
}

// tlsHandler completes a server handshake with cfg.
func tlsHandler(cfg *tls.Config) func(net.Conn) {
	return func(conn net.Conn) {
		tc := tls.Server(conn, cfg)
		if tc.Handshake() == nil {
			// Wait for the client to close, so TLS 1.3 tickets are not cut off.
			_, _ = tc.Read(make([]byte, 1))
		}
	}
}

// closedAddress returns a 127.0.0.1 address where nothing listens.
func closedAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestProbeChain(t *testing.T) {
	now := time.Now()
	root := issue(t, certSpec{cn: "root", notBefore: now.Add(-day), notAfter: now.Add(3650 * day), ca: true}, nil)
	inter := issue(t, certSpec{cn: "intermediate", notBefore: now.Add(-50 * day), notAfter: now.Add(20 * day), ca: true}, root)
	leaf := issue(t, certSpec{cn: "server", dns: []string{"server.test"}, notBefore: now.Add(-day), notAfter: now.Add(80 * day)}, inter)
	addr := serve(t, tlsHandler(&tls.Config{Certificates: []tls.Certificate{leaf.tlsCert(inter)}}))

	certs, err := Probe(context.Background(), addr, "", 5*time.Second)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if len(certs) != 2 {
		t.Fatalf("got %d certificates, want leaf and intermediate", len(certs))
	}
	if certs[0].Source != addr || certs[0].Subject != "CN=server" {
		t.Errorf("leaf = %s %s, want %s CN=server", certs[0].Source, certs[0].Subject, addr)
	}
	if certs[1].Source != addr+"[1]" || certs[1].Subject != "CN=intermediate" || !certs[1].IsCA {
		t.Errorf("intermediate = %s %s CA=%v, want %s[1] CN=intermediate CA=true", certs[1].Source, certs[1].Subject, certs[1].IsCA, addr)
	}
	if got := DefaultThresholds().Status(certs[1], now); got != StatusWarning {
		t.Errorf("intermediate status = %q, want warning: the whole chain is inspected", got)
	}
}

func TestProbeCases(t *testing.T) {
	now := time.Now()
	expired := issue(t, valid("expired", now, -100*day, -day), nil)
	good := issue(t, certSpec{cn: "default", notBefore: now.Add(-day), notAfter: now.Add(90 * day)}, nil)
	named := issue(t, certSpec{cn: "named", dns: []string{"api.internal"}, notBefore: now.Add(-day), notAfter: now.Add(90 * day)}, nil)

	bySNI := &tls.Config{GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c := good.tlsCert()
		if hello.ServerName == "api.internal" {
			c = named.tlsCert()
		}
		return &c, nil
	}}
	clientAuth := func(version uint16) *tls.Config {
		return &tls.Config{
			Certificates: []tls.Certificate{good.tlsCert()}, ClientAuth: tls.RequireAnyClientCert,
			MinVersion: version, MaxVersion: version,
		}
	}

	tests := []struct {
		name       string
		addr       string
		serverName string
		timeout    time.Duration
		wantCN     string
		wantSource string // "" for the address
		wantOp     string // EndpointError.Op when the probe fails
	}{
		{name: "expired certificate is read", addr: serve(t, tlsHandler(&tls.Config{Certificates: []tls.Certificate{expired.tlsCert()}})), wantCN: "expired"},
		{name: "without server name", addr: serve(t, tlsHandler(bySNI)), wantCN: "default"},
		{name: "with server name", addr: serve(t, tlsHandler(bySNI)), serverName: "api.internal", wantCN: "named", wantSource: "#sni=api.internal"},
		{name: "client certificate required TLS 1.2", addr: serve(t, tlsHandler(clientAuth(tls.VersionTLS12))), wantCN: "default"},
		{name: "client certificate required TLS 1.3", addr: serve(t, tlsHandler(clientAuth(tls.VersionTLS13))), wantCN: "default"},
		{name: "connection refused", addr: closedAddress(t), wantOp: OpConnect},
		{
			name: "plain HTTP", wantOp: OpHandshake,
			addr: serve(t, func(c net.Conn) { _, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n")) }),
		},
		{name: "closed at once", addr: serve(t, func(net.Conn) {}), wantOp: OpHandshake},
		{
			name: "silent server times out", timeout: 200 * time.Millisecond, wantOp: OpHandshake,
			addr: serve(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 1<<16)); _, _ = c.Read(make([]byte, 1)) }),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := tt.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			certs, err := Probe(context.Background(), tt.addr, tt.serverName, timeout)

			if tt.wantOp != "" {
				var ee *EndpointError
				if !errors.As(err, &ee) {
					t.Fatalf("err = %v, want an EndpointError", err)
				}
				if ee.Op != tt.wantOp || ee.Address != tt.addr {
					t.Errorf("EndpointError = %s %s, want %s %s", ee.Op, ee.Address, tt.wantOp, tt.addr)
				}
				if len(certs) != 0 {
					t.Errorf("got %d certificates with the error", len(certs))
				}
				return
			}
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if len(certs) != 1 || certs[0].Subject != "CN="+tt.wantCN {
				t.Fatalf("certificates = %+v, want one with CN=%s", certs, tt.wantCN)
			}
			if want := tt.addr + tt.wantSource; certs[0].Source != want {
				t.Errorf("Source = %q, want %q", certs[0].Source, want)
			}
		})
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "127.0.0.1:6443", want: "127.0.0.1:6443"},
		{in: "[::1]:443", want: "[::1]:443"},
		{in: "example.test:8443", want: "example.test:8443"},
		{in: "https://example.test", want: "example.test:443"},
		{in: "https://example.test:8443/healthz", want: "example.test:8443"},
		{in: "example.test", wantErr: "missing port"},
		{in: ":443", wantErr: "missing host"},
		{in: "example.test:https", wantErr: `port "https" is not a number`},
		{in: "example.test:70000", wantErr: "from 1 to 65535"},
		{in: "https://", wantErr: "missing host"},
	}
	for _, tt := range tests {
		got, err := ParseEndpoint(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseEndpoint(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseEndpoint(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestWatcherEndpointHandshake(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	leaf := issue(t, valid("api", now, -360*day, 3*day), nil)
	var speakTLS atomic.Bool
	addr := serve(t, func(c net.Conn) {
		if speakTLS.Load() {
			tlsHandler(&tls.Config{Certificates: []tls.Certificate{leaf.tlsCert()}})(c)
		}
	})
	h := newHarness(t, now, func(c *Config) {
		c.Files = nil
		c.Endpoints = []Endpoint{{Address: addr, Timeout: Duration(5 * time.Second)}}
	})

	got := h.check()
	wantAlerts(t, "no TLS", got, "certificate-endpoint-handshake-failed/warning")
	if !strings.HasPrefix(got[0].Summary, "TLS handshake with "+addr+" failed before the server sent its certificates: ") {
		t.Errorf("Summary = %q", got[0].Summary)
	}
	if got[0].Labels["source"] != addr || got[0].Labels["error"] == "" {
		t.Errorf("Labels = %v, want source and error", got[0].Labels)
	}

	speakTLS.Store(true)
	got = h.check()
	wantAlerts(t, "TLS", got, "certificate-endpoint-handshake-failed/warning/resolved", "certificate-expiring/critical")
	for _, a := range got {
		if a.Rule == RuleExpiring && !strings.Contains(a.Summary, `certificate "CN=api" at `+addr+" expires in 3d 0h") {
			t.Errorf("Summary = %q", a.Summary)
		}
	}
}

func TestWatcherEndpointUnreachable(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	addr := closedAddress(t)
	h := newHarness(t, now, func(c *Config) {
		c.Files = nil
		c.Endpoints = []Endpoint{{Address: "https://" + addr, ServerName: "api.internal"}}
	})

	got := h.check()
	wantAlerts(t, "closed port", got, "certificate-endpoint-unreachable/warning")
	source := addr + "#sni=api.internal"
	if !strings.HasPrefix(got[0].Summary, "TLS endpoint "+source+" is unreachable: dial tcp "+addr) {
		t.Errorf("Summary = %q", got[0].Summary)
	}
	wantAlerts(t, "still closed", h.check())

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken in the meantime: %v", addr, err)
	}
	leaf := issue(t, valid("api", now, -day, 300*day), nil)
	serveOn(t, ln, tlsHandler(&tls.Config{Certificates: []tls.Certificate{leaf.tlsCert()}}))
	got = h.check()
	wantAlerts(t, "listening", got, "certificate-endpoint-unreachable/warning/resolved")
	if want := "TLS endpoint " + source + " accepts connections again"; got[0].Summary != want {
		t.Errorf("Summary = %q, want %q", got[0].Summary, want)
	}
}

func TestWatcherRun(t *testing.T) {
	// Registered first, so it runs after the test server's cleanup.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })

	now := time.Now()
	dir := t.TempDir()
	writeFile(t, dir+"/old.crt", issue(t, valid("file", now, -400*day, -day), nil).pem())
	leaf := issue(t, valid("endpoint", now, -360*day, 2*day), nil)
	addr := serve(t, tlsHandler(&tls.Config{Certificates: []tls.Certificate{leaf.tlsCert()}}))

	alerts := make(chan *scanner.Alert, 10)
	cfg := DefaultConfig()
	cfg.Files = []string{dir}
	cfg.Endpoints = []Endpoint{{Address: addr}}
	w, err := New(cfg, Options{Emit: func(a *scanner.Alert) { alerts <- a }})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	rules := map[string]bool{}
	deadline := time.After(30 * time.Second) // a hang, not a speed check
	for len(rules) < 2 {
		select {
		case a := <-alerts:
			rules[a.Rule] = true
		case <-deadline:
			t.Fatalf("alerts after 30s: %v, want expired and expiring", rules)
		}
	}
	if !rules[RuleExpired] || !rules[RuleExpiring] {
		t.Errorf("rules = %v, want %s and %s", rules, RuleExpired, RuleExpiring)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
}
