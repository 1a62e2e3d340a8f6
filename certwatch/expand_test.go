package certwatch

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	root := t.TempDir()
	for _, name := range []string{
		"pki/ca.crt", "pki/ca.key", "pki/etcd/server.crt",
		"kubelet/kubelet-client-2026-01-01.pem", "kubelet/kubelet.crt",
		"secret/..2026_12_04/tls.crt", "conf/admin.conf", "conf/notes.txt",
	} {
		writeFile(t, filepath.Join(root, name), []byte("x"))
	}
	// The kubelet's current certificate and a secret's files are symbolic links.
	mustSymlink(t, "kubelet-client-2026-01-01.pem", filepath.Join(root, "kubelet/kubelet-client-current.pem"))
	mustSymlink(t, "..2026_12_04", filepath.Join(root, "secret/..data"))
	mustSymlink(t, "..data/tls.crt", filepath.Join(root, "secret/tls.crt"))
	mustSymlink(t, "missing.pem", filepath.Join(root, "kubelet/dangling.pem"))

	tests := []struct {
		name     string
		patterns []string
		want     []string
		wantErr  string
	}{
		{name: "directory walked", patterns: []string{"pki"}, want: []string{"pki/ca.crt", "pki/ca.key", "pki/etcd/server.crt"}},
		{
			name: "links to files followed", patterns: []string{"kubelet"},
			want: []string{"kubelet/kubelet-client-2026-01-01.pem", "kubelet/kubelet-client-current.pem", "kubelet/kubelet.crt"},
		},
		{name: "glob", patterns: []string{"conf/*.conf"}, want: []string{"conf/admin.conf"}},
		{name: "glob matching a directory", patterns: []string{"pki/*"}, want: []string{"pki/ca.crt", "pki/ca.key", "pki/etcd/server.crt"}},
		{name: "secret volume read once", patterns: []string{"secret"}, want: []string{"secret/tls.crt"}},
		{name: "no match", patterns: []string{"missing/*.crt", "missing.crt"}, want: nil},
		{name: "duplicates removed", patterns: []string{"pki/ca.crt", "pki/*.crt"}, want: []string{"pki/ca.crt"}},
		{name: "invalid glob", patterns: []string{"pki/[", "conf/admin.conf"}, want: []string{"conf/admin.conf"}, wantErr: "syntax error in pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			patterns := make([]string, len(tt.patterns))
			for i, p := range tt.patterns {
				patterns[i] = filepath.Join(root, p)
			}
			got, err := Expand(patterns)

			if tt.wantErr == "" && err != nil {
				t.Errorf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			var rel []string
			for _, p := range got {
				rel = append(rel, strings.TrimPrefix(p, root+"/"))
			}
			if !slices.Equal(rel, tt.want) {
				t.Errorf("files = %q, want %q", rel, tt.want)
			}
		})
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
