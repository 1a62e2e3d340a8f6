package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestHeartbeatCheckURL(t *testing.T) {
	const url = "http://127.0.0.1:1/ping"
	dir := t.TempDir()
	present := filepath.Join(dir, "heartbeat-url")
	writeTestFile(t, present, url+"\n")
	empty := filepath.Join(dir, "empty")
	writeTestFile(t, empty, "\n")
	missing := filepath.Join(dir, "missing-url")
	ftp := filepath.Join(dir, "ftp-url")
	writeTestFile(t, ftp, "ftp://127.0.0.1/ping/token-77\n")
	broken := filepath.Join(dir, "broken-url")
	writeTestFile(t, broken, "http://%zz/ping/token-77\n")
	t.Setenv("KLAXON_TEST_HEARTBEAT_URL", url)

	cases := []struct {
		name string
		cfg  heartbeatConfig
		want []string // parts of the error; none means no error
	}{
		{"off", heartbeatConfig{}, nil},
		{"file present", heartbeatConfig{URLFile: present}, nil},
		{"file missing", heartbeatConfig{URLFile: missing}, []string{"heartbeat.url_file", missing, "no such file"}},
		{"file empty", heartbeatConfig{URLFile: empty}, []string{"heartbeat.url_file", empty, "is empty"}},
		{"not http", heartbeatConfig{URLFile: ftp}, []string{"heartbeat.url_file", ftp, "not an http or https URL"}},
		{"does not parse", heartbeatConfig{URLFile: broken}, []string{"heartbeat.url_file", broken, "not an http or https URL"}},
		{"env set", heartbeatConfig{URLEnv: "KLAXON_TEST_HEARTBEAT_URL"}, nil},
		{"env unset", heartbeatConfig{URLEnv: "KLAXON_TEST_UNSET_HEARTBEAT_URL"}, []string{"heartbeat.url_env", "KLAXON_TEST_UNSET_HEARTBEAT_URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.checkURL()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("checkURL: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("checkURL returned no error")
			}
			if strings.Contains(err.Error(), "token-77") {
				t.Errorf("error %q contains the URL", err)
			}
			for _, part := range tc.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not contain %q", err, part)
				}
			}
		})
	}
}
