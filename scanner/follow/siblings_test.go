package follow

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestListRotatedOrder(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{
			name:  "kubelet",
			files: []string{"0.log", "0.log.20250301-120000", "0.log.20250301-100000.gz", "0.log.20250301-110000.gz", "1.log", "0.log.20250301-130000.tmp"},
			want:  []string{"0.log.20250301-100000.gz", "0.log.20250301-110000.gz", "0.log.20250301-120000"},
		},
		{
			name:  "compression in progress",
			files: []string{"0.log", "0.log.20250301-100000", "0.log.20250301-100000.gz"},
			want:  []string{"0.log.20250301-100000"},
		},
		{
			name:  "logrotate numbers",
			files: []string{"0.log", "0.log.1", "0.log.3.gz", "0.log.2.gz"},
			want:  []string{"0.log.3.gz", "0.log.2.gz", "0.log.1"},
		},
		{
			name:  "logrotate dates",
			files: []string{"0.log", "0.log-20250302", "0.log-20250301.gz"},
			want:  []string{"0.log-20250301.gz", "0.log-20250302"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			list, err := listRotated(filepath.Join(dir, "0.log"))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range list {
				got = append(got, filepath.Base(r.path))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("listRotated = %v, want %v", got, tt.want)
			}
		})
	}
}

// positionOf returns a position at offset in the file at path.
func positionOf(t *testing.T, path string, offset int64) Position {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	id, size, err := identify(f)
	if err != nil {
		t.Fatal(err)
	}
	return Position{Path: path, FileID: id, Offset: offset, Size: size}
}

type plannedSegment struct {
	name   string
	gz     bool
	offset int64
}

func planOf(res *resolution) []plannedSegment {
	var plan []plannedSegment
	for _, s := range res.segments {
		plan = append(plan, plannedSegment{filepath.Base(s.path), s.gz, s.offset})
	}
	return plan
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name string
		// setup writes files and returns the saved position, nil for none.
		setup     func(t *testing.T, w *logWriter) *Position
		truncated bool
		want      []plannedSegment
		wantLost  int64
	}{
		{
			name: "no position",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				return nil
			},
			want: []plannedSegment{{"0.log", false, 0}},
		},
		{
			name: "same file",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				pos := positionOf(t, w.path, 40)
				w.write(3)
				return &pos
			},
			want: []plannedSegment{{"0.log", false, 40}},
		},
		{
			name: "truncated in place",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				pos := positionOf(t, w.path, 80)
				w.f.Truncate(0)
				w.write(1)
				return &pos
			},
			want:     []plannedSegment{{"0.log", false, 0}},
			wantLost: 3*lineLen - 80,
		},
		{
			name: "renamed",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				pos := positionOf(t, w.path, 45)
				w.rename()
				w.reopen()
				w.write(2)
				return &pos
			},
			want: []plannedSegment{{"0.log.20250301-100000", false, 45}, {"0.log", false, 0}},
		},
		{
			name: "renamed and read to its end",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				pos := positionOf(t, w.path, 3*lineLen)
				w.rename()
				w.reopen()
				return &pos
			},
			want: []plannedSegment{{"0.log", false, 0}},
		},
		{
			name: "compressed",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				pos := positionOf(t, w.path, 45)
				w.compress(w.rename())
				w.reopen()
				w.write(1)
				w.rename()
				w.reopen()
				return &pos
			},
			want: []plannedSegment{{"0.log.20250301-100000.gz", true, 45}, {"0.log.20250301-100001", false, 0}, {"0.log", false, 0}},
		},
		{
			name: "rotated away",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				pos := positionOf(t, w.path, 45)
				os.Remove(w.rename())
				w.reopen()
				w.write(1)
				w.rename()
				w.reopen()
				return &pos
			},
			want:     []plannedSegment{{"0.log.20250301-100001", false, 0}, {"0.log", false, 0}},
			wantLost: 3*lineLen - 45,
		},
		{
			name: "shrink seen while following",
			setup: func(t *testing.T, w *logWriter) *Position {
				w.write(3)
				pos := positionOf(t, w.path, 45)
				return &pos
			},
			truncated: true,
			want:      []plannedSegment{{"0.log", false, 0}},
			wantLost:  3*lineLen - 45,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newLogWriter(t, filepath.Join(t.TempDir(), "c", "0.log"))
			w.clock = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
			pos := tt.setup(t, w)
			res, err := resolve(w.path, pos, 0, tt.truncated)
			if err != nil {
				t.Fatal(err)
			}
			defer res.closeAll()
			if got := planOf(res); !slices.Equal(got, tt.want) {
				t.Errorf("plan = %v, want %v", got, tt.want)
			}
			if res.lostBytes != tt.wantLost {
				t.Errorf("lost bytes = %d, want %d", res.lostBytes, tt.wantLost)
			}
		})
	}
}

// lineLen is the length of each line logWriter.write writes at the start of
// a test: "2025-03-01T10:00:00.001Z stdout F line 00001\n".
const lineLen = 45
