package deploy

import (
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDecodeRejectsUnknownFields(t *testing.T) {
	tests := []struct {
		name, manifest string
	}{
		{"misspelled container field", `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: x}
spec:
  template:
    spec:
      containers:
        - name: x
          securityContext: {readOnlyRootFilesytem: true}
`},
		{"field at the wrong level", `apiVersion: v1
kind: ConfigMap
metadata: {name: x}
spec: {}
`},
		{"duplicate field", `apiVersion: v1
kind: ServiceAccount
metadata: {name: x}
automountServiceAccountToken: false
automountServiceAccountToken: true
`},
		{"unknown kind", `apiVersion: v1
kind: Pod
metadata: {name: x}
`},
		{"misspelled PodMonitor field", `apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata: {name: x}
spec:
  podMetricsEndpoint: [{port: http}]
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeManifests([]byte(tt.manifest)); err == nil {
				t.Errorf("decodeManifests accepted:\n%s", tt.manifest)
			}
		})
	}
}

func TestManifestKindsAndNamespace(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			if got := r.kinds(); !slices.Equal(got, r.want.kinds) {
				t.Errorf("kinds = %v, want %v", got, r.want.kinds)
			}
			for _, o := range r.objects {
				if o.kind == "Namespace" {
					if o.name != r.want.namespace {
						t.Errorf("Namespace %q, want %q", o.name, r.want.namespace)
					}
					continue
				}
				if o.namespace != r.want.namespace {
					t.Errorf("%s %q is in namespace %q, want %q", o.kind, o.name, o.namespace, r.want.namespace)
				}
			}
		})
	}
}

func TestNamespaceAllowsPrivilegedPods(t *testing.T) {
	for _, r := range renderAll(t) {
		for _, o := range r.objects {
			ns, ok := o.value.(*corev1.Namespace)
			if !ok {
				continue
			}
			t.Run(r.want.name, func(t *testing.T) {
				if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "privileged" {
					t.Errorf("label pod-security.kubernetes.io/enforce = %q, want privileged", got)
				}
			})
		}
	}
}

func TestTolerations(t *testing.T) {
	required := []corev1.Taint{
		{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule},
		{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute},
		{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute},
	}
	other := corev1.Taint{Key: "example.com/maintenance", Value: "true", Effect: corev1.TaintEffectNoSchedule}
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			tolerations := r.daemonSet.Spec.Template.Spec.Tolerations
			for _, taint := range required {
				if !tolerates(tolerations, taint) {
					t.Errorf("taint %s is not tolerated by %+v", taint.ToString(), tolerations)
				}
			}
			if got := tolerates(tolerations, other); got != r.want.tolerateAll {
				t.Errorf("tolerates taint %s = %v, want %v", other.ToString(), got, r.want.tolerateAll)
			}
		})
	}
}

func tolerates(tolerations []corev1.Toleration, taint corev1.Taint) bool {
	for _, toleration := range tolerations {
		if toleration.ToleratesTaint(logr.Discard(), &taint, false) {
			return true
		}
	}
	return false
}

func TestPriorityClass(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			const class = "system-node-critical"
			if got := r.daemonSet.Spec.Template.Spec.PriorityClassName; got != class {
				t.Errorf("priorityClassName = %q, want %q", got, class)
			}
			if len(r.quotas) != 1 {
				t.Fatalf("%d ResourceQuotas, want 1 that admits %s pods", len(r.quotas), class)
			}
			q := r.quotas[0]
			if q.Spec.ScopeSelector == nil || len(q.Spec.ScopeSelector.MatchExpressions) != 1 {
				t.Fatalf("quota %q scope selector = %+v, want one expression", q.Name, q.Spec.ScopeSelector)
			}
			expr := q.Spec.ScopeSelector.MatchExpressions[0]
			if expr.ScopeName != corev1.ResourceQuotaScopePriorityClass || expr.Operator != corev1.ScopeSelectorOpIn ||
				!slices.Equal(expr.Values, []string{class}) {
				t.Errorf("quota %q scope = %+v, want PriorityClass In [%s]", q.Name, expr, class)
			}
			pods := q.Spec.Hard[corev1.ResourcePods]
			if got := pods.Value(); got != r.want.quotaPods {
				t.Errorf("quota %q hard pods = %d, want %d", q.Name, got, r.want.quotaPods)
			}
		})
	}
}

func TestReadOnlyHostMounts(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			for _, hostPath := range r.want.readOnlyHostPaths {
				m, v := r.mount(hostPath)
				if m == nil || v == nil {
					t.Errorf("no volume mounted at %s", hostPath)
					continue
				}
				if !m.ReadOnly {
					t.Errorf("mount %s is writable, want read-only", hostPath)
				}
				if v.HostPath == nil || v.HostPath.Path != hostPath {
					t.Errorf("volume %q at %s = %+v, want hostPath %s at the same path", v.Name, hostPath, v.VolumeSource, hostPath)
				}
			}
			// Every other host folder must be the state folder, so no
			// writable host mount slips in.
			for _, v := range r.daemonSet.Spec.Template.Spec.Volumes {
				if v.HostPath == nil {
					continue
				}
				if p := v.HostPath.Path; !slices.Contains(r.want.readOnlyHostPaths, p) && p != r.want.stateDir {
					t.Errorf("unexpected hostPath volume %q at %s", v.Name, p)
				}
			}
			if got, want := r.config.LogRoot, r.want.readOnlyHostPaths[0]; got != want {
				t.Errorf("config log_root = %q, want the pod log mount %q", got, want)
			}
		})
	}
}

func TestStateHostPath(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			m, v := r.mount(r.want.stateDir)
			if m == nil || v == nil {
				t.Fatalf("no volume mounted at %s", r.want.stateDir)
			}
			if m.ReadOnly {
				t.Errorf("state mount %s is read-only, want writable", m.MountPath)
			}
			if v.HostPath == nil {
				t.Fatalf("state volume %q = %+v, want a hostPath", v.Name, v.VolumeSource)
			}
			if v.HostPath.Path != r.want.stateDir {
				t.Errorf("state hostPath = %s, want %s", v.HostPath.Path, r.want.stateDir)
			}
			if v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathDirectoryOrCreate {
				t.Errorf("state hostPath type = %v, want DirectoryOrCreate", v.HostPath.Type)
			}
			if r.config.StateDir != r.want.stateDir {
				t.Errorf("config state_dir = %q, want %q", r.config.StateDir, r.want.stateDir)
			}
			var writable []string
			for _, m := range r.container.VolumeMounts {
				if !m.ReadOnly {
					writable = append(writable, m.MountPath)
				}
			}
			if !slices.Equal(writable, []string{r.want.stateDir}) {
				t.Errorf("writable mounts = %v, want only %s", writable, r.want.stateDir)
			}
		})
	}
}

func TestNodeNameFromDownwardAPI(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			for _, env := range r.container.Env {
				if env.Name != "NODE_NAME" {
					continue
				}
				if env.ValueFrom == nil || env.ValueFrom.FieldRef == nil || env.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
					t.Errorf("NODE_NAME = %+v, want a fieldRef to spec.nodeName", env)
				}
				return
			}
			t.Errorf("no NODE_NAME variable in %+v", r.container.Env)
		})
	}
}

func TestReadOnlyRootFilesystem(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			sc := r.container.SecurityContext
			if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("readOnlyRootFilesystem is not true in %+v", sc)
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			sc := r.container.SecurityContext
			if sc == nil || sc.Capabilities == nil {
				t.Fatalf("no capabilities in security context %+v", sc)
			}
			if got := sc.Capabilities.Drop; !slices.Equal(got, []corev1.Capability{"ALL"}) {
				t.Errorf("dropped capabilities = %v, want [ALL]", got)
			}
			if got := sc.Capabilities.Add; !slices.Equal(got, []corev1.Capability{"DAC_READ_SEARCH"}) {
				t.Errorf("added capabilities = %v, want [DAC_READ_SEARCH]", got)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("allowPrivilegeEscalation = %v, want false", sc.AllowPrivilegeEscalation)
			}
			if sc.Privileged != nil && *sc.Privileged {
				t.Error("privileged = true, want false")
			}
			if sc.RunAsUser == nil || *sc.RunAsUser != 0 {
				t.Errorf("runAsUser = %v, want 0 to read root-owned logs", sc.RunAsUser)
			}
			if got := seccompType(r); got != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("seccomp profile = %q, want RuntimeDefault", got)
			}
		})
	}
}

// seccompType returns the container's seccomp profile type, or the pod's
// when the container sets none.
func seccompType(r rendering) corev1.SeccompProfileType {
	if sc := r.container.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return sc.SeccompProfile.Type
	}
	if sc := r.daemonSet.Spec.Template.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return sc.SeccompProfile.Type
	}
	return ""
}

func TestProbes(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			probes := []struct {
				name, path string
				probe      *corev1.Probe
			}{
				{"liveness", "/healthz", r.container.LivenessProbe},
				{"readiness", "/readyz", r.container.ReadinessProbe},
			}
			for _, p := range probes {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s probe = %+v, want an HTTP GET", p.name, p.probe)
					continue
				}
				if p.probe.HTTPGet.Path != p.path {
					t.Errorf("%s probe path = %q, want %q", p.name, p.probe.HTTPGet.Path, p.path)
				}
				port := p.probe.HTTPGet.Port
				name, number := port.StrVal, port.IntVal
				if port.Type == intstr.Int {
					name = ""
				}
				if got := r.containerPort(name, number); got != r.want.port {
					t.Errorf("%s probe port %s resolves to %d, want %d", p.name, port.String(), got, r.want.port)
				}
			}
			_, listenPort, err := net.SplitHostPort(r.config.MetricsAddress)
			if err != nil {
				t.Fatalf("config metrics_address %q: %v", r.config.MetricsAddress, err)
			}
			if listenPort != strconv.Itoa(int(r.want.port)) {
				t.Errorf("config metrics_address = %q, want port %d", r.config.MetricsAddress, r.want.port)
			}
		})
	}
}

func TestTerminationGracePeriod(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			got := r.daemonSet.Spec.Template.Spec.TerminationGracePeriodSeconds
			if got == nil || *got != r.want.gracePeriod {
				t.Errorf("terminationGracePeriodSeconds = %v, want %d", got, r.want.gracePeriod)
			}
		})
	}
}

func TestResources(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			got := r.container.Resources
			compareResources(t, "requests", got.Requests, r.want.resources.Requests)
			compareResources(t, "limits", got.Limits, r.want.resources.Limits)
			request, limit := got.Requests[corev1.ResourceMemory], got.Limits[corev1.ResourceMemory]
			if limit.IsZero() || limit.Cmp(request) < 0 {
				t.Errorf("memory limit %s is unset or below the request %s", limit.String(), request.String())
			}
			if target := resource.MustParse("50Mi"); request.Cmp(target) < 0 {
				t.Errorf("memory request %s is below the agent's 50Mi target footprint", request.String())
			}
		})
	}
}

func compareResources(t *testing.T, kind string, got, want corev1.ResourceList) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok || g.Cmp(w) != 0 {
			t.Errorf("%s %s = %s, want %s", kind, name, g.String(), w.String())
		}
	}
	for name, g := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s %s = %s, want unset", kind, name, g.String())
		}
	}
}

func TestConfigFilesAreMounted(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			var configPath string
			for _, arg := range r.container.Args {
				if v, ok := strings.CutPrefix(arg, "--config="); ok {
					configPath = v
				}
			}
			if configPath == "" {
				t.Fatalf("args %v have no --config=FILE", r.container.Args)
			}
			files := append([]string{configPath}, r.config.Rules...)
			if len(r.config.Rules) == 0 {
				t.Error("config lists no rules files")
			}
			for _, file := range files {
				m, v := r.mount(path.Dir(file))
				if m == nil || v == nil || v.ConfigMap == nil {
					t.Errorf("%s is not in a ConfigMap mount", file)
					continue
				}
				if v.ConfigMap.Name != r.configMap.Name {
					t.Errorf("%s is in ConfigMap %q, want %q", file, v.ConfigMap.Name, r.configMap.Name)
				}
				if _, ok := r.configMap.Data[path.Base(file)]; !ok {
					t.Errorf("ConfigMap %q has no key %s", r.configMap.Name, path.Base(file))
				}
			}
		})
	}
}

func TestRulesMatchRepository(t *testing.T) {
	want, err := os.ReadFile("../rules.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, copyPath := range []string{"kustomize/base/rules.toml", "helm/klaxon/files/rules.toml"} {
		t.Run(copyPath, func(t *testing.T) {
			got, err := os.ReadFile(copyPath)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from the repository's rules.toml: copy it again with cp rules.toml deploy/%s", copyPath, copyPath)
			}
		})
	}
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			if got := r.configMap.Data["rules.toml"]; got != string(want) {
				t.Errorf("ConfigMap rules.toml (%d bytes) differs from the repository's rules.toml (%d bytes)", len(got), len(want))
			}
		})
	}
}

func TestSlackSecretMountedAsFile(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			files := slackSecretFiles(r.config)
			if r.want.slackSecret == "" {
				if len(files) != 0 {
					t.Errorf("config reads %v, want no Slack sink", files)
				}
				return
			}
			if len(files) != 1 {
				t.Fatalf("Slack sink secret files = %v, want one", files)
			}
			m, v := r.mount(path.Dir(files[0]))
			if m == nil || v == nil || v.Secret == nil {
				t.Fatalf("%s is not in a Secret mount", files[0])
			}
			if !m.ReadOnly {
				t.Errorf("Secret mount %s is writable", m.MountPath)
			}
			if path.Base(files[0]) != r.want.slackKey {
				t.Errorf("Slack sink reads key %s, want %s", path.Base(files[0]), r.want.slackKey)
			}
			name := v.Secret.SecretName
			if r.want.slackSecretHashed {
				if !strings.HasPrefix(name, r.want.slackSecret+"-") {
					t.Errorf("Secret volume refers to %q, want %s with a hash suffix", name, r.want.slackSecret)
				}
			} else if name != r.want.slackSecret {
				t.Errorf("Secret volume refers to %q, want %q", name, r.want.slackSecret)
			}
			checkRenderedSecret(t, r, name)
		})
	}
}

// slackSecretFiles returns the secret files that the config's Slack sinks
// read.
func slackSecretFiles(c agentConfig) []string {
	var files []string
	for _, sink := range c.Sinks {
		if sink["type"] != "slack" {
			continue
		}
		for _, key := range []string{"webhook_url_file", "token_file"} {
			if f, ok := sink[key].(string); ok {
				files = append(files, f)
			}
		}
	}
	return files
}

func checkRenderedSecret(t *testing.T, r rendering, name string) {
	t.Helper()
	var secret *corev1.Secret
	for _, s := range r.secrets {
		if s.Name == name {
			secret = s
		}
	}
	if !r.want.slackSecretRendered {
		if secret != nil {
			t.Errorf("output contains Secret %q, want it left to the user", name)
		}
		return
	}
	if secret == nil {
		t.Fatalf("output has no Secret %q", name)
	}
	if len(secret.Data[r.want.slackKey]) == 0 && secret.StringData[r.want.slackKey] == "" {
		t.Errorf("Secret %q has no value for key %s", name, r.want.slackKey)
	}
}

func TestPodMonitor(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			pm := r.podMonitor
			if (pm != nil) != r.want.podMonitor {
				t.Fatalf("PodMonitor present = %v, want %v", pm != nil, r.want.podMonitor)
			}
			if pm == nil {
				return
			}
			podLabels := r.daemonSet.Spec.Template.Labels
			if len(pm.Spec.Selector.MatchLabels) == 0 {
				t.Error("PodMonitor selects every pod in the namespace")
			}
			for key, value := range pm.Spec.Selector.MatchLabels {
				if podLabels[key] != value {
					t.Errorf("PodMonitor selects %s=%s, pods have %q", key, value, podLabels[key])
				}
			}
			if len(pm.Spec.PodMetricsEndpoints) != 1 {
				t.Fatalf("PodMonitor has %d endpoints, want 1", len(pm.Spec.PodMetricsEndpoints))
			}
			ep := pm.Spec.PodMetricsEndpoints[0]
			if ep.Port == nil || r.containerPort(*ep.Port, 0) != r.want.port {
				t.Errorf("PodMonitor port %v does not name the container port %d", ep.Port, r.want.port)
			}
			if ep.Path != "/metrics" {
				t.Errorf("PodMonitor path = %q, want /metrics", ep.Path)
			}
		})
	}
}

func TestPodSelectorMatchesTemplate(t *testing.T) {
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			selector := r.daemonSet.Spec.Selector
			if selector == nil || len(selector.MatchLabels) == 0 {
				t.Fatal("DaemonSet has no selector labels")
			}
			for key, value := range selector.MatchLabels {
				if got := r.daemonSet.Spec.Template.Labels[key]; got != value {
					t.Errorf("pod label %s = %q, selector wants %q", key, got, value)
				}
			}
		})
	}
}

// TestConfigAcceptedByAgent runs the agent's own config check on each
// rendered config file, so a key that the agent does not know fails here
// and not on the nodes. The rules, log and state paths point into a
// temporary folder, because the pod's mounts do not exist on this machine.
func TestConfigAcceptedByAgent(t *testing.T) {
	bin := buildKlaxon(t)
	for _, r := range renderAll(t) {
		t.Run(r.want.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range r.configMap.Data {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			args := []string{"agent", "--config", filepath.Join(dir, "config.toml"), "--check-config",
				"--log-root", dir, "--state-dir", filepath.Join(dir, "state")}
			for _, rules := range r.config.Rules {
				args = append(args, "--rules", filepath.Join(dir, path.Base(rules)))
			}
			out, err := exec.Command(bin, args...).CombinedOutput()
			if err != nil {
				t.Errorf("klaxon %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}
