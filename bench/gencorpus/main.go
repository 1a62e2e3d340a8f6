// Command gencorpus writes a deterministic node log corpus for benchmarks.
// The corpus is CRI records (containerd style) from the components of system
// namespaces: klog, JSON, logfmt, access-log and CoreDNS lines. About one
// line in ten thousand is a failure that the shipped rules match.
//
//	go run ./bench/gencorpus -size 200MB -out /tmp/node.log
//	go run ./bench/gencorpus -size 50MB -layout -out /tmp/pods
//
// With -layout it writes a /var/log/pods style folder, one file per
// container; without it one file with all records in time order.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

type component struct {
	namespace, pod, container string
	weight                    int
	lines                     func(r *rand.Rand, t time.Time) string
}

var start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func klog(level byte, t time.Time, file, msg string) string {
	return fmt.Sprintf("%c%s       1 %s] %s", level, t.Format("0102 15:04:05.000000"), file, msg)
}

var components = []component{
	{"kube-system", "coredns-5d78c9869d-x2v9q", "coredns", 20, func(r *rand.Rand, t time.Time) string {
		return fmt.Sprintf(`[INFO] 10.%d.%d.%d:%d - %d "A IN svc-%d.default.svc.cluster.local. udp 45 false 512" NOERROR qr,aa,rd 106 0.000%03ds`,
			r.IntN(4), r.IntN(255), r.IntN(255), 30000+r.IntN(30000), r.IntN(65535), r.IntN(400), r.IntN(999))
	}},
	{"kube-system", "kube-proxy-8kq2w", "kube-proxy", 5, func(r *rand.Rand, t time.Time) string {
		return klog('I', t, "proxier.go:"+strconv.Itoa(700+r.IntN(200)), fmt.Sprintf(`"Syncing iptables rules" ipFamily="IPv4" numServices=%d`, 100+r.IntN(50)))
	}},
	{"ingress-nginx", "ingress-nginx-controller-7c6d8f4b9-hk2lp", "controller", 30, func(r *rand.Rand, t time.Time) string {
		return fmt.Sprintf(`192.0.2.%d - - [%s] "GET /api/v1/items/%d HTTP/1.1" %d %d "-" "Mozilla/5.0 (X11; Linux x86_64)" %d 0.%03d [shop-web-80] [] 10.4.%d.%d:8080 %d 0.%03d 200 %x`,
			r.IntN(255), t.Format("02/Jan/2006:15:04:05 -0700"), r.IntN(100000), []int{200, 200, 200, 304, 404}[r.IntN(5)], r.IntN(20000),
			300+r.IntN(400), r.IntN(999), r.IntN(255), r.IntN(255), r.IntN(20000), r.IntN(999), r.Uint64())
	}},
	{"cert-manager", "cert-manager-6f9c7b8d5-qxk7m", "cert-manager-controller", 6, func(r *rand.Rand, t time.Time) string {
		return klog('I', t, "controller.go:162", fmt.Sprintf(`"finished processing work item" logger="cert-manager.controller" key="web/shop-%d-tls"`, r.IntN(40)))
	}},
	{"external-dns", "external-dns-7b9f8c6d4-m2xwp", "external-dns", 4, func(r *rand.Rand, t time.Time) string {
		return fmt.Sprintf(`time="%s" level=info msg="All records are already up to date" zone=%d`, t.Format(time.RFC3339), r.IntN(4))
	}},
	{"monitoring", "prometheus-operator-5b7f9c8d6-wq4zx", "prometheus-operator", 8, func(r *rand.Rand, t time.Time) string {
		return fmt.Sprintf(`{"level":"info","ts":"%s","caller":"operator/operator.go:%d","msg":"sync prometheus","key":"monitoring/k8s","generation":%d}`,
			t.Format(time.RFC3339Nano), 300+r.IntN(100), r.IntN(90))
	}},
	{"kube-system", "metrics-server-6d94bc8694-lk2zq", "metrics-server", 4, func(r *rand.Rand, t time.Time) string {
		return klog('I', t, "server.go:"+strconv.Itoa(130+r.IntN(20)), fmt.Sprintf("Scraped %d nodes in %dms", 3+r.IntN(20), 10+r.IntN(400)))
	}},
	{"kube-system", "kube-apiserver-node-1", "kube-apiserver", 10, func(r *rand.Rand, t time.Time) string {
		return klog('I', t, "httplog.go:132", fmt.Sprintf(`"HTTP" verb="GET" URI="/api/v1/namespaces/kube-system/pods?limit=%d" latency="%dms" userAgent="kubectl/v1.33.1" audit-ID="%x" srcIP="192.0.2.%d:%d" resp=200`,
			r.IntN(500), r.IntN(90), r.Uint64(), r.IntN(255), 30000+r.IntN(30000)))
	}},
}

// failures are lines the shipped rules alert on.
var failures = []struct {
	component int
	text      string
}{
	{3, `E1003 02:00:14.123456       1 sync.go:190] "propagation check failed" err="DNS record for \"api.example.com\" not yet propagated" logger="cert-manager.controller" resource_name="api-tls-1-2345" resource_namespace="web" resource_kind="Challenge" resource_version="v1" dnsName="api.example.com" type="DNS-01"`},
	{2, `E1003 02:00:14.123456       9 backend_ssl.go:161] Error generating CA certificate chain for Secret "web/api-tls": x509: certificate has expired or is not yet valid`},
	{0, `[ERROR] plugin/errors: 2 api.example.com. A: read udp 10.4.0.12:50211->192.0.2.53:53: i/o timeout`},
	{4, `time="2026-10-03T02:00:14Z" level=error msg="Failure in zone example.com. when submitting change batch: InvalidChangeBatch: [RRSet of type TXT with DNS name _acme-challenge.api.example.com. is not permitted because a conflicting RRSet of type CNAME with the same DNS name already exists]"`},
}

func main() {
	size := flag.String("size", "100MB", "corpus size (KB, MB or GB)")
	out := flag.String("out", "", "output file, or folder with -layout")
	layout := flag.Bool("layout", false, "write a /var/log/pods folder instead of one file")
	seed := flag.Uint64("seed", 1, "random seed")
	failEvery := flag.Int("fail-every", 10000, "one failure line per this many lines")
	flag.Parse()
	limit, err := parseSize(*size)
	if err != nil || *out == "" {
		fmt.Fprintln(os.Stderr, "gencorpus: need -out and a -size such as 200MB")
		os.Exit(2)
	}
	if err := generate(*out, limit, *layout, *seed, *failEvery); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

func parseSize(s string) (int64, error) {
	units := map[string]int64{"KB": 1e3, "MB": 1e6, "GB": 1e9}
	for suffix, mult := range units {
		if n, ok := strings.CutSuffix(strings.ToUpper(s), suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			return int64(v * float64(mult)), err
		}
	}
	return strconv.ParseInt(s, 10, 64)
}

func generate(out string, limit int64, layout bool, seed uint64, failEvery int) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	writers := make([]*bufio.Writer, len(components))
	var files []*os.File
	open := func(path string) (*bufio.Writer, error) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		return bufio.NewWriterSize(f, 1<<20), nil
	}
	if layout {
		for i, c := range components {
			w, err := open(filepath.Join(out, fmt.Sprintf("%s_%s_%08x-0000-4000-8000-%012x", c.namespace, c.pod, i, i), c.container, "0.log"))
			if err != nil {
				return err
			}
			writers[i] = w
		}
	} else {
		w, err := open(out)
		if err != nil {
			return err
		}
		for i := range writers {
			writers[i] = w
		}
	}
	totalWeight := 0
	for _, c := range components {
		totalWeight += c.weight
	}
	t := start
	var written int64
	for n := 1; written < limit; n++ {
		t = t.Add(time.Duration(r.IntN(2000)) * time.Microsecond)
		var idx int
		var text string
		if n%failEvery == 0 {
			f := failures[r.IntN(len(failures))]
			idx, text = f.component, f.text
		} else {
			pick := r.IntN(totalWeight)
			for idx = 0; pick >= components[idx].weight; idx++ {
				pick -= components[idx].weight
			}
			text = components[idx].lines(r, t)
		}
		stream := "stdout"
		if strings.HasPrefix(text, "E") || strings.HasPrefix(text, "I") {
			stream = "stderr"
		}
		line := fmt.Sprintf("%s %s F %s\n", t.Format(time.RFC3339Nano), stream, text)
		if _, err := writers[idx].WriteString(line); err != nil {
			return err
		}
		written += int64(len(line))
	}
	for _, w := range writers {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
