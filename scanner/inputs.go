package scanner

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// inputStream is a sequence of files read as one log: a container's rotated
// files oldest first, then its current file, then those of later restarts.
type inputStream struct {
	src   *Source
	files []string
	stdin bool
}

// expandInputs turns replay arguments into streams. A folder is walked;
// files in the kubelet layout are grouped per container, rotated ones
// first; symbolic links are read once, through their target; skipInFolder
// names the files a walk leaves out.
func expandInputs(paths []string) ([]*inputStream, error) {
	var streams []*inputStream
	seen := map[string]bool{} // real paths already read
	containers := map[string]*inputStream{}
	var links []string
	for _, p := range paths {
		if p == "-" {
			streams = append(streams, &inputStream{src: &Source{Path: "-"}, stdin: true})
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read input: %w", err)
		}
		if !info.IsDir() {
			real := realPath(p)
			if !seen[real] {
				seen[real] = true
				streams = append(streams, &inputStream{src: sourceFor(p, real), files: []string{p}})
			}
			continue
		}
		err = filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				return nil
			case d.Type()&fs.ModeSymlink != 0:
				links = append(links, file)
				return nil
			case !d.Type().IsRegular() || skipInFolder(d.Name()):
				return nil
			}
			seen[realPath(file)] = true
			addFile(&streams, containers, file, file)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", p, err)
		}
	}
	// A link is read only when its target was not read already, which keeps
	// /var/log/containers from doubling /var/log/pods.
	for _, link := range links {
		real := realPath(link)
		if info, err := os.Stat(real); err != nil || !info.Mode().IsRegular() || seen[real] {
			continue
		}
		seen[real] = true
		addFile(&streams, containers, link, real)
	}
	for _, s := range containers {
		sortContainerFiles(s.files)
		s.files = dropCompressedDuplicates(s.files)
	}
	return streams, nil
}

// skipInFolder reports whether a walk passes over a file: files being
// compressed (.tmp), hidden files, and documents and configuration kept next
// to saved logs (.md, .toml, .yaml, .yml). A file named on the command line
// is always read.
func skipInFolder(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	switch filepath.Ext(name) {
	case ".tmp", ".md", ".toml", ".yaml", ".yml":
		return true
	}
	return false
}

func addFile(streams *[]*inputStream, containers map[string]*inputStream, file, real string) {
	src := sourceFor(file, real)
	if src.PodUID == "" {
		*streams = append(*streams, &inputStream{src: src, files: []string{file}})
		return
	}
	dir := filepath.Dir(real)
	s, ok := containers[dir]
	if !ok {
		s = &inputStream{src: src}
		containers[dir] = s
		*streams = append(*streams, s)
	}
	s.files = append(s.files, file)
	if strings.HasSuffix(real, ".log") && real > s.src.Path {
		// Name the stream after its newest current file, the one a live
		// agent would follow.
		s.src.Path = real
	}
}

func sourceFor(file, real string) *Source {
	if src := SourceFromPath(real); src.Namespace != "" {
		return src
	}
	src := SourceFromPath(file)
	if src.Namespace == "" {
		src.Path = file
	}
	return src
}

func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	return p
}

// sortContainerFiles orders <n>.log files by restart count n, and within one
// n the rotated files by their timestamp before the current file.
func sortContainerFiles(files []string) {
	sort.Slice(files, func(i, j int) bool {
		ni, ri := containerFileOrder(files[i])
		nj, rj := containerFileOrder(files[j])
		if ni != nj {
			return ni < nj
		}
		return ri < rj
	})
}

// containerFileOrder returns the restart count and a key that sorts rotated
// files by time and the current file last.
func containerFileOrder(file string) (int, string) {
	base := filepath.Base(file)
	n, rest, _ := strings.Cut(base, ".log")
	count, _ := atoi([]byte(n))
	if rest == "" {
		return count, "~" // after every ".2006..." suffix
	}
	return count, strings.TrimSuffix(rest, ".gz")
}

// dropCompressedDuplicates removes X.gz when X is present too: the kubelet
// deletes X only after it has written X.gz.
func dropCompressedDuplicates(files []string) []string {
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	out := files[:0]
	for _, f := range files {
		if base, ok := strings.CutSuffix(f, ".gz"); ok && have[base] {
			continue
		}
		out = append(out, f)
	}
	return out
}
