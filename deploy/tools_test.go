package deploy

import (
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestHelmLint(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"default values", nil},
		{"custom values", []string{"--values", "testdata/helm-values-custom.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := run(".", "helm", append([]string{"lint", "--strict", "helm/klaxon"}, tt.args...)...)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

func TestHelmRejectsInvalidValues(t *testing.T) {
	tests := []struct {
		name    string
		set     []string
		wantErr string
	}{
		{"Slack without secret", []string{"slack.enabled=true"}, "slack: set slack.existingSecret, or the webhookURL"},
		{"Slack token without channel", []string{"slack.enabled=true", "slack.mode=token", "slack.token=x"}, "slack.channel: missing"},
		{"unknown Slack mode", []string{"slack.enabled=true", "slack.mode=email", "slack.existingSecret=s"}, `slack.mode: "email" is invalid`},
		{"no rules", []string{"rules.builtin=false"}, "rules: no rules files"},
		{"rules file named config.toml", []string{"rules.extra.config\\.toml=x"}, `invalid file name "config.toml"`},
		{"no pod log folder", []string{"hostPaths.podLogs="}, "hostPaths.podLogs: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"template", "klaxon", "helm/klaxon"}
			for _, s := range tt.set {
				args = append(args, "--set", s)
			}
			_, err := run(".", "helm", args...)
			if err == nil {
				t.Fatalf("helm template with %v succeeded, want an error containing %q", tt.set, tt.wantErr)
			}
			if errors.Is(err, errToolMissing) {
				t.Fatal(err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestKubectlKustomize checks that the kustomize built into kubectl, which
// kubectl apply -k runs, builds the base as the pinned kustomize does.
func TestKubectlKustomize(t *testing.T) {
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not in PATH; the other tests build the base with kustomize")
	}
	want, err := run(".", "kustomize", "build", "kustomize/base")
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(".", "kubectl", "kustomize", "kustomize/base")
	if err != nil {
		t.Fatal(err)
	}
	wantObjects, gotObjects := decodeGeneric(t, want), decodeGeneric(t, got)
	if !reflect.DeepEqual(gotObjects, wantObjects) {
		t.Errorf("kubectl kustomize output differs from kustomize build:\n%s\nwant:\n%s", got, want)
	}
}

// decodeGeneric decodes each document of a YAML stream into a map.
func decodeGeneric(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var objects []map[string]any
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("decode %q: %v", doc, err)
		}
		if m != nil {
			objects = append(objects, m)
		}
	}
	return objects
}
