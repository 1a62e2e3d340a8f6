package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// installTools is the script that installs the tools the tests run.
const installTools = "deploy/install-tools.sh"

// errToolMissing reports a tool that is neither installed by installTools
// nor in PATH.
var errToolMissing = errors.New("not found")

// tempDir contains what the tests build once and share. TestMain removes
// it.
var tempDir string

func TestMain(m *testing.M) {
	var err error
	tempDir, err = os.MkdirTemp("", "klaxon-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tempDir)
	os.Exit(code)
}

// findTool returns the path of the program name: first in $KLAXON_TOOLS_BIN
// or the folder install-tools.sh uses by default, then in PATH.
func findTool(name string) (string, error) {
	dir := os.Getenv("KLAXON_TOOLS_BIN")
	if dir == "" {
		if cache, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(cache, "klaxon", "tools", "bin")
		}
	}
	if dir != "" {
		path := filepath.Join(dir, name)
		if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s %w in %q or PATH: run %s", name, errToolMissing, dir, installTools)
	}
	return path, nil
}

// run runs a tool and returns its standard output. The error carries the
// tool's standard error.
func run(dir, tool string, args ...string) ([]byte, error) {
	path, err := findTool(tool)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	// Keep helm away from the user's repositories, plugins and caches.
	home, err := os.MkdirTemp("", "klaxon-deploy-tool-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(home)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// object is one decoded manifest.
type object struct {
	kind, namespace, name string
	value                 any // a pointer to the API type of kind
}

// newObject returns a new value of the API type for apiVersion and kind, or
// nil when the tests know no such type.
func newObject(apiVersion, kind string) any {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}
	case "v1 Secret":
		return &corev1.Secret{}
	case "v1 ResourceQuota":
		return &corev1.ResourceQuota{}
	case "apps/v1 DaemonSet":
		return &appsv1.DaemonSet{}
	case "monitoring.coreos.com/v1 PodMonitor":
		return &monitoringv1.PodMonitor{}
	}
	return nil
}

// decodeManifests decodes a multi-document YAML stream into API types. A
// field that the type does not have, a duplicate field or an unknown kind
// is an error.
func decodeManifests(data []byte) ([]object, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objects []object
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objects, nil
		}
		if err != nil {
			return nil, fmt.Errorf("split YAML documents: %w", err)
		}
		var header struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &header); err != nil {
			return nil, fmt.Errorf("decode document header: %w\n%s", err, doc)
		}
		if header.APIVersion == "" && header.Kind == "" {
			continue // a document with only comments
		}
		value := newObject(header.APIVersion, header.Kind)
		if value == nil {
			return nil, fmt.Errorf("%s %s %q: no API type known to the test", header.APIVersion, header.Kind, header.Metadata.Name)
		}
		if err := yaml.UnmarshalStrict(doc, value); err != nil {
			return nil, fmt.Errorf("decode %s %q strictly: %w", header.Kind, header.Metadata.Name, err)
		}
		objects = append(objects, object{header.Kind, header.Metadata.Namespace, header.Metadata.Name, value})
	}
}

// copyTree copies the regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// renderKustomize builds the base, and the example overlay with the
// PodMonitor component and a placeholder webhook URL in a copy of the tree.
func renderKustomize() (base, example []byte, err error) {
	base, err = run(".", "kustomize", "build", "kustomize/base")
	if err != nil {
		return nil, nil, err
	}
	tmp, err := os.MkdirTemp("", "klaxon-deploy-kustomize-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	if err := copyTree("kustomize", tmp); err != nil {
		return nil, nil, fmt.Errorf("copy kustomize tree: %w", err)
	}
	files := map[string]string{
		"example/slack-webhook-url": exampleWebhookURL + "\n",
		"monitored/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" +
			"resources:\n  - ../example\ncomponents:\n  - ../components/podmonitor\n",
	}
	for name, content := range files {
		path := filepath.Join(tmp, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			return nil, nil, err
		}
	}
	example, err = run(".", "kustomize", "build", filepath.Join(tmp, "monitored"))
	return base, example, err
}

// exampleWebhookURL is the placeholder that the tests put in the example
// overlay's Secret.
const exampleWebhookURL = "https://hooks.slack.example/services/T000/B000/placeholder"

var (
	renderOnce   sync.Once
	renderResult []rendering
	renderErr    error
)

// renderAll renders and decodes every case of renderCases once per test
// binary, because kustomize and helm take about a second per run.
func renderAll(t *testing.T) []rendering {
	t.Helper()
	renderOnce.Do(func() { renderResult, renderErr = renderCases() })
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	return renderResult
}

func renderCases() ([]rendering, error) {
	base, example, err := renderKustomize()
	if err != nil {
		return nil, err
	}
	outputs := map[string][]byte{
		"kustomize base":                base,
		"kustomize example, podmonitor": example,
	}
	for _, c := range helmCases {
		out, err := run(".", "helm", append([]string{"template", c.release, "helm/klaxon", "--namespace", c.namespace}, c.args...)...)
		if err != nil {
			return nil, err
		}
		outputs[c.name] = out
	}
	var result []rendering
	for _, want := range wantRenderings {
		out, ok := outputs[want.name]
		if !ok {
			return nil, fmt.Errorf("no output rendered for %q", want.name)
		}
		objects, err := decodeManifests(out)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", want.name, err)
		}
		r, err := newRendering(want, objects)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", want.name, err)
		}
		result = append(result, r)
	}
	return result, nil
}

// helmCase is one helm template run.
type helmCase struct {
	name, release, namespace string
	args                     []string
}

var helmCases = []helmCase{
	{name: "helm default", release: "klaxon", namespace: "klaxon"},
	{name: "helm custom values", release: "rel", namespace: "monitoring",
		args: []string{"--values", "testdata/helm-values-custom.yaml"}},
	{name: "helm existing Slack secret", release: "klaxon", namespace: "klaxon",
		args: []string{"--set", "slack.enabled=true", "--set", "slack.existingSecret=team-slack"}},
}
