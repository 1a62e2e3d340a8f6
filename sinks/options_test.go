package sinks_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/klaxon-agent/klaxon/sinks"
)

func TestDurationFromTOML(t *testing.T) {
	tests := []struct {
		text    string
		want    time.Duration
		wantErr bool
	}{
		{text: `d = "30s"`, want: 30 * time.Second},
		{text: `d = "1d12h"`, want: 36 * time.Hour},
		{text: `d = 30`, wantErr: true},
		{text: `d = "5 minutes"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			var v struct {
				D sinks.Duration `toml:"d"`
			}
			_, err := toml.Decode(tt.text, &v)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decoded %s as %s, want an error", tt.text, time.Duration(v.D))
				}
				return
			}
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if time.Duration(v.D) != tt.want {
				t.Errorf("got %s, want %s", time.Duration(v.D), tt.want)
			}
		})
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KLAXON_TEST_SECRET", "from-env")

	tests := []struct {
		name      string
		path, env string
		want      string
		wantErr   string
	}{
		{name: "file", path: file, want: "s3cret"},
		{name: "env", env: "KLAXON_TEST_SECRET", want: "from-env"},
		{name: "missing file", path: filepath.Join(dir, "nope"), wantErr: "token_file: read secret"},
		{name: "empty file", path: empty, wantErr: "token_file: file " + empty + " is empty"},
		{name: "unset env", env: "KLAXON_TEST_UNSET", wantErr: "token_env: environment variable KLAXON_TEST_UNSET is unset or empty"},
		{name: "neither", wantErr: "token_file or token_env: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sinks.ReadSecret("token_file", tt.path, "token_env", tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ReadSecret = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	base := errors.New("post https://hooks.example/services/T1/B2/SECRET: connection refused")
	err := sinks.Redact(base, "https://hooks.example/services/T1/B2/SECRET", "")
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Redact left the secret: %v", err)
	}
	if !strings.Contains(err.Error(), "[redacted]: connection refused") {
		t.Errorf("Redact = %q, want the rest of the message kept", err)
	}
	if !errors.Is(err, base) {
		t.Error("redacted error does not unwrap to the original")
	}
	if sinks.Redact(base, "not in it") != base {
		t.Error("Redact wrapped an error that holds no secret")
	}
}
