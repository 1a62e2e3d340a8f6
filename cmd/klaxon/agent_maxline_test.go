package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestAgentConfigMaxLineBytes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		value string
		ok    bool
	}{{"0", true}, {"4096", true}, {"100", false}, {"99999999", false}} {
		path := filepath.Join(dir, "agent.toml")
		if err := os.WriteFile(path, []byte("[follow]\nmax_line_bytes = "+tc.value+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadAgentConfig(path)
		if tc.ok {
			if err != nil {
				t.Errorf("max_line_bytes = %s: %v", tc.value, err)
			} else if got := cfg.tailOptions().MaxLineBytes; got != mustAtoi(t, tc.value) {
				t.Errorf("max_line_bytes = %s reached the tailer as %d", tc.value, got)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "follow.max_line_bytes: "+tc.value+" is out of range") {
			t.Errorf("max_line_bytes = %s: err = %v", tc.value, err)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
