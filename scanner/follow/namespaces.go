package follow

import (
	"fmt"
	"path"
)

// DefaultNamespaces are the namespaces followed when the configuration names
// none: Kubernetes' own, those of managed-cluster add-ons (GKE, EKS,
// OpenShift), and those that common cluster-wide components install into by
// default. Patterns use path.Match syntax.
var DefaultNamespaces = []string{
	// Kubernetes itself.
	"kube-system", "kube-public", "kube-node-lease",
	// Managed clusters: GKE and Google Managed Prometheus, EKS add-ons, OpenShift.
	"gke-*", "gmp-system", "gmp-public", "amazon-cloudwatch", "amazon-guardduty", "openshift-*",
	// Networking, ingress, DNS and service meshes.
	"calico-system", "calico-apiserver", "tigera-operator", "kube-flannel", "metallb-system",
	"ingress-nginx", "external-dns", "istio-system", "istio-ingress", "linkerd", "linkerd-*",
	// Certificates, policy and cluster management.
	"cert-manager", "gatekeeper-system", "kyverno", "flux-system", "cattle-system",
	// Monitoring and logging.
	"monitoring", "logging", "opentelemetry-operator-system",
	// Storage, backup and autoscaling.
	"longhorn-system", "rook-ceph", "openebs", "local-path-storage", "velero", "keda", "karpenter",
}

// NamespaceFilter selects namespaces by glob: a namespace is followed when it
// matches an Include pattern and no Exclude pattern. An empty Include means
// DefaultNamespaces; "*" follows every namespace.
type NamespaceFilter struct {
	Include []string
	Exclude []string
}

// Validate returns an error naming the first malformed pattern.
func (f NamespaceFilter) Validate() error {
	for _, list := range [][]string{f.Include, f.Exclude} {
		for _, p := range list {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("invalid namespace pattern %q: %w", p, err)
			}
		}
	}
	return nil
}

// Match reports whether namespace ns is followed.
func (f NamespaceFilter) Match(ns string) bool {
	include := f.Include
	if len(include) == 0 {
		include = DefaultNamespaces
	}
	return matchAny(include, ns) && !matchAny(f.Exclude, ns)
}

func matchAny(patterns []string, s string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, s); ok {
			return true
		}
	}
	return false
}
