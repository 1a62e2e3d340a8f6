package loki

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/klaxon-agent/klaxon/sinks"
)

func TestSinkTLSAndBasicAuth(t *testing.T) {
	var mu sync.Mutex
	var users, passwords []string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, password, _ := r.BasicAuth()
		mu.Lock()
		users, passwords = append(users, user), append(passwords, password)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte("first-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg := Config{
		URL:          srv.URL + "/loki/api/v1/push",
		Username:     "klaxon",
		PasswordFile: passwordFile,
		TLS:          TLSConfig{CAFile: caFile},
	}
	s := newTestSink(t, cfg, sinks.Options{})
	send(t, s, testAlert(1))
	waitFor(t, "the first push", func() bool { mu.Lock(); defer mu.Unlock(); return len(users) == 1 })
	// A rotated Secret: the next push uses the new password.
	if err := os.WriteFile(passwordFile, []byte("second-password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	send(t, s, testAlert(2))
	closeSink(t, s)

	mu.Lock()
	defer mu.Unlock()
	if strings.Join(users, ",") != "klaxon,klaxon" {
		t.Errorf("users = %v, want klaxon twice", users)
	}
	if strings.Join(passwords, ",") != "first-password,second-password" {
		t.Errorf("passwords = %v, want the file's content at each push", passwords)
	}
}

func TestSinkRejectsUnknownCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var logs syncBuffer
	s := newTestSink(t, Config{URL: srv.URL + "/loki/api/v1/push"}, sinks.Options{Logger: newTextLogger(&logs)})
	send(t, s, testAlert(1))
	waitFor(t, "a failed push", func() bool { return strings.Contains(logs.String(), "delivery failed") })
	closeNow(s)
	if !strings.Contains(logs.String(), "certificate") {
		t.Errorf("log does not name the certificate problem:\n%s", logs.String())
	}
}
