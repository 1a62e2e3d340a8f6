package deploy

import (
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// expected lists what one rendering must contain where the ways to install
// differ.
type expected struct {
	name      string
	namespace string
	kinds     []string // sorted
	port      int32
	stateDir  string
	// readOnlyHostPaths are the host folders mounted read-only. The first is
	// the pod log folder that the config's log_root names.
	readOnlyHostPaths []string
	// tolerateAll is set when the pods must tolerate every taint, not only
	// those of control-plane and unready nodes.
	tolerateAll bool
	quotaPods   int64
	gracePeriod int64
	resources   corev1.ResourceRequirements
	// slackSecret is the name of the Secret the pods mount, "" for none.
	// With slackSecretHashed, kustomize appends a hash of its content.
	slackSecret       string
	slackSecretHashed bool
	// slackKey is the Secret key that the Slack sink reads.
	slackKey string
	// slackSecretRendered is set when the output contains the Secret.
	slackSecretRendered bool
	podMonitor          bool
}

var defaultResources = resources(
	map[corev1.ResourceName]string{corev1.ResourceCPU: "20m", corev1.ResourceMemory: "64Mi"},
	map[corev1.ResourceName]string{corev1.ResourceMemory: "128Mi"},
)

var defaultReadOnlyHostPaths = []string{
	"/var/log/pods", "/var/log/containers", "/var/lib/docker/containers",
	"/var/lib/kubelet/pki", "/etc/kubernetes",
}

var wantRenderings = []expected{
	{
		name:              "kustomize base",
		namespace:         "klaxon",
		kinds:             []string{"ConfigMap", "DaemonSet", "Namespace", "ResourceQuota", "ServiceAccount"},
		port:              9090,
		stateDir:          "/var/lib/klaxon",
		readOnlyHostPaths: defaultReadOnlyHostPaths,
		tolerateAll:       true,
		quotaPods:         10000,
		gracePeriod:       30,
		resources:         defaultResources,
		slackSecret:       "klaxon-slack",
		slackKey:          "webhook-url",
	},
	{
		name:      "kustomize example, podmonitor",
		namespace: "klaxon",
		kinds: []string{"ConfigMap", "DaemonSet", "Namespace", "PodMonitor", "ResourceQuota",
			"Secret", "ServiceAccount"},
		port:                9090,
		stateDir:            "/var/lib/klaxon",
		readOnlyHostPaths:   defaultReadOnlyHostPaths,
		tolerateAll:         true,
		quotaPods:           10000,
		gracePeriod:         30,
		resources:           defaultResources,
		slackSecret:         "klaxon-slack",
		slackSecretHashed:   true,
		slackKey:            "webhook-url",
		slackSecretRendered: true,
		podMonitor:          true,
	},
	{
		name:              "helm default",
		namespace:         "klaxon",
		kinds:             []string{"ConfigMap", "DaemonSet", "ResourceQuota", "ServiceAccount"},
		port:              9090,
		stateDir:          "/var/lib/klaxon",
		readOnlyHostPaths: defaultReadOnlyHostPaths,
		tolerateAll:       true,
		quotaPods:         10000,
		gracePeriod:       30,
		resources:         defaultResources,
	},
	{
		name:      "helm custom values",
		namespace: "monitoring",
		kinds: []string{"ConfigMap", "DaemonSet", "PodMonitor", "ResourceQuota", "Secret",
			"ServiceAccount"},
		port:              9464,
		stateDir:          "/var/lib/klaxon-test",
		readOnlyHostPaths: []string{"/data/kubelet/pods-logs", "/data/kubelet/containers-logs", "/var/lib/kubelet/pki"},
		quotaPods:         500,
		gracePeriod:       45,
		resources: resources(
			map[corev1.ResourceName]string{corev1.ResourceCPU: "50m", corev1.ResourceMemory: "96Mi"},
			map[corev1.ResourceName]string{corev1.ResourceCPU: "1", corev1.ResourceMemory: "256Mi"},
		),
		slackSecret:         "klaxon-agent-slack",
		slackKey:            "token",
		slackSecretRendered: true,
		podMonitor:          true,
	},
	{
		name:              "helm existing Slack secret",
		namespace:         "klaxon",
		kinds:             []string{"ConfigMap", "DaemonSet", "ResourceQuota", "ServiceAccount"},
		port:              9090,
		stateDir:          "/var/lib/klaxon",
		readOnlyHostPaths: defaultReadOnlyHostPaths,
		tolerateAll:       true,
		quotaPods:         10000,
		gracePeriod:       30,
		resources:         defaultResources,
		slackSecret:       "team-slack",
		slackKey:          "webhook-url",
	},
}

func resources(requests, limits map[corev1.ResourceName]string) corev1.ResourceRequirements {
	parse := func(m map[corev1.ResourceName]string) corev1.ResourceList {
		list := corev1.ResourceList{}
		for name, value := range m {
			list[name] = resource.MustParse(value)
		}
		return list
	}
	return corev1.ResourceRequirements{Requests: parse(requests), Limits: parse(limits)}
}

// rendering is the decoded output of one way to install klaxon, with the
// objects the tests look at picked out.
type rendering struct {
	want       expected
	objects    []object
	daemonSet  *appsv1.DaemonSet
	container  *corev1.Container
	configMap  *corev1.ConfigMap
	config     agentConfig
	secrets    []*corev1.Secret
	quotas     []*corev1.ResourceQuota
	podMonitor *monitoringv1.PodMonitor
}

// agentConfig holds the keys of the agent's config file that must agree
// with the pod's mounts and port.
type agentConfig struct {
	Rules          []string         `toml:"rules"`
	LogRoot        string           `toml:"log_root"`
	StateDir       string           `toml:"state_dir"`
	MetricsAddress string           `toml:"metrics_address"`
	Sinks          []map[string]any `toml:"sink"`
}

func newRendering(want expected, objects []object) (rendering, error) {
	r := rendering{want: want, objects: objects}
	for _, o := range objects {
		switch v := o.value.(type) {
		case *appsv1.DaemonSet:
			if r.daemonSet != nil {
				return r, fmt.Errorf("second DaemonSet %q", o.name)
			}
			r.daemonSet = v
		case *corev1.ConfigMap:
			if r.configMap != nil {
				return r, fmt.Errorf("second ConfigMap %q", o.name)
			}
			r.configMap = v
		case *corev1.Secret:
			r.secrets = append(r.secrets, v)
		case *corev1.ResourceQuota:
			r.quotas = append(r.quotas, v)
		case *monitoringv1.PodMonitor:
			r.podMonitor = v
		}
	}
	if r.daemonSet == nil || r.configMap == nil {
		return r, fmt.Errorf("output lacks the DaemonSet or the ConfigMap")
	}
	containers := r.daemonSet.Spec.Template.Spec.Containers
	if len(containers) != 1 {
		return r, fmt.Errorf("DaemonSet has %d containers, want 1", len(containers))
	}
	r.container = &containers[0]
	data, ok := r.configMap.Data["config.toml"]
	if !ok {
		return r, fmt.Errorf("ConfigMap %q has no config.toml", r.configMap.Name)
	}
	if _, err := toml.Decode(data, &r.config); err != nil {
		return r, fmt.Errorf("decode config.toml: %w\n%s", err, data)
	}
	return r, nil
}

// kinds returns the sorted kinds of the rendered objects.
func (r rendering) kinds() []string {
	var kinds []string
	for _, o := range r.objects {
		kinds = append(kinds, o.kind)
	}
	slices.Sort(kinds)
	return kinds
}

// mount returns the container's volume mount at path and its volume.
func (r rendering) mount(path string) (*corev1.VolumeMount, *corev1.Volume) {
	for i, m := range r.container.VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for j, v := range r.daemonSet.Spec.Template.Spec.Volumes {
			if v.Name == m.Name {
				return &r.container.VolumeMounts[i], &r.daemonSet.Spec.Template.Spec.Volumes[j]
			}
		}
		return &r.container.VolumeMounts[i], nil
	}
	return nil, nil
}

// volume returns the pod's volume called name.
func (r rendering) volume(name string) *corev1.Volume {
	for i, v := range r.daemonSet.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return &r.daemonSet.Spec.Template.Spec.Volumes[i]
		}
	}
	return nil
}

// containerPort resolves a probe's port, by name or number, to a port of
// the container. It returns 0 when the container has no such port.
func (r rendering) containerPort(name string, number int32) int32 {
	for _, p := range r.container.Ports {
		if (name != "" && p.Name == name) || (name == "" && p.ContainerPort == number) {
			return p.ContainerPort
		}
	}
	return 0
}
