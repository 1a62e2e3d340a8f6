package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The incident's timeline, in UTC. The TLS certificate of api.example.com is
// a 90-day Let's Encrypt certificate. cert-manager renews such a certificate
// when two thirds of its lifetime have passed, 30 days before it expires.
var (
	exampleStart = time.Date(2026, 9, 27, 0, 0, 0, 0, time.UTC)
	exampleEnd   = time.Date(2026, 11, 1, 18, 0, 0, 0, time.UTC)

	certNotAfter = time.Date(2026, 11, 1, 2, 0, 13, 0, time.UTC)
	renewalStart = certNotAfter.Add(-30 * 24 * time.Hour)
	// ingress-nginx warns about certificates that expire within 240 hours.
	expiryWarningStart = certNotAfter.Add(-240 * time.Hour)
	// An operator deletes the leftover CNAME at _acme-challenge.api.example.com.
	recordDeleted = time.Date(2026, 11, 1, 9, 35, 40, 0, time.UTC)
)

// kubeletRotation is the node's log rotation policy. It is smaller than the
// kubelet's default (10Mi, 5 files) so that the example stays small on disk,
// and keeps enough files to hold the whole month for every container.
var kubeletRotation = rotation{maxSize: 256 << 10, maxFiles: 24, interval: 10 * time.Second}

// containerSpec is one container of a pod and the function that writes its
// output. The function's result at index n is what the container wrote
// after its n-th restart.
type containerSpec struct {
	name    string
	records func(g *gen) [][]record
}

type podSpec struct {
	namespace  string
	name       string
	containers []containerSpec
}

// pods lists the system pods on the node whose logs the example holds.
func pods() []podSpec {
	return []podSpec{
		{"cert-manager", "cert-manager-7d8b9c6f4-hx2lm", []containerSpec{{"cert-manager-controller", certManagerRecords}}},
		{"ingress-nginx", "ingress-nginx-controller-6b9c7f5d8-2wlxh", []containerSpec{{"controller", ingressNginxRecords}}},
		{"external-dns", "external-dns-7c9d8f6b5-kp4sd", []containerSpec{{"external-dns", externalDNSRecords}}},
		{"kube-system", "coredns-5d78c9869d-8xk2p", []containerSpec{{"coredns", coreDNSRecords}}},
		{"kube-system", "kube-proxy-7xkqp", []containerSpec{{"kube-proxy", kubeProxyRecords}}},
		{"kube-system", "metrics-server-6d94bc8694-z5bqn", []containerSpec{{"metrics-server", metricsServerRecords}}},
		{"monitoring", "alertmanager-main-0", []containerSpec{{"alertmanager", alertmanagerRecords}}},
	}
}

// generate writes the pod log folders into out and returns how many files
// it wrote. Pod folders from an earlier run are removed first, and other
// files in out, such as its README, are kept.
func generate(out string) (int, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return 0, fmt.Errorf("create output folder: %w", err)
	}
	if err := removePodFolders(out); err != nil {
		return 0, err
	}
	files := 0
	for _, p := range pods() {
		uid := newGen(p.namespace + "/" + p.name + "/uid").podUID()
		podDir := filepath.Join(out, p.namespace+"_"+p.name+"_"+uid)
		for _, c := range p.containers {
			g := newGen(p.namespace + "/" + p.name + "/" + c.name)
			for restart, recs := range c.records(g) {
				n, err := writeContainerLog(filepath.Join(podDir, c.name), restart, recs)
				if err != nil {
					return files, fmt.Errorf("write %s/%s: %w", p.name, c.name, err)
				}
				files += n
			}
		}
	}
	return files, nil
}

func writeContainerLog(dir string, restart int, recs []record) (int, error) {
	slices.SortStableFunc(recs, func(a, b record) int { return a.time.Compare(b.time) })
	log := newContainerLog(restart, kubeletRotation)
	for _, r := range recs {
		if r.time.Before(exampleStart) || !r.time.Before(exampleEnd) {
			continue
		}
		if err := log.write(r); err != nil {
			return 0, err
		}
	}
	if err := log.save(dir); err != nil {
		return 0, err
	}
	return len(log.rotated) + 1, nil
}

// removePodFolders deletes the folders of out named like kubelet pod
// folders, <namespace>_<pod>_<uid>.
func removePodFolders(out string) error {
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("read output folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && strings.Count(e.Name(), "_") == 2 {
			if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
				return fmt.Errorf("remove old pod folder: %w", err)
			}
		}
	}
	return nil
}
