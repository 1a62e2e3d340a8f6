package spool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// The spool keeps one file per alert, named <id as 16 hex digits>-<severity>.json,
// so that the queue order and the drop order are known from a folder
// listing, without reading the files.
const (
	fileSuffix = ".json"
	tmpPrefix  = "tmp-"
)

// record is the file format of one spooled alert. The alert's JSON leaves
// out the fields that only sinks use, so they are stored next to it.
type record struct {
	Queued     time.Time      `json:"queued"`
	Alert      *scanner.Alert `json:"alert"`
	GroupKey   string         `json:"group_key,omitempty"`
	Reminder   bool           `json:"reminder,omitempty"`
	New        int            `json:"new,omitempty"`
	PreviousAt time.Time      `json:"previous_at,omitzero"`
	Resolved   bool           `json:"resolved,omitempty"`
	Escalated  bool           `json:"escalated,omitempty"`
	Ended      bool           `json:"ended,omitempty"`
	Final      bool           `json:"final,omitempty"`
}

func encodeRecord(a *scanner.Alert, queued time.Time) ([]byte, error) {
	rec := record{
		Queued:     queued,
		Alert:      a,
		GroupKey:   a.GroupKey,
		Reminder:   a.Reminder,
		New:        a.New,
		PreviousAt: a.PreviousAt,
		Resolved:   a.Resolved,
		Escalated:  a.Escalated,
		Ended:      a.Ended,
		Final:      a.Final,
	}
	data, err := json.Marshal(&rec)
	if err != nil {
		return nil, fmt.Errorf("encode alert: %w", err)
	}
	return data, nil
}

func decodeRecord(data []byte) (*scanner.Alert, time.Time, error) {
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, time.Time{}, fmt.Errorf("decode alert: %w", err)
	}
	if rec.Alert == nil {
		return nil, time.Time{}, errors.New("decode alert: no alert in file")
	}
	a := rec.Alert
	a.GroupKey = rec.GroupKey
	a.Reminder = rec.Reminder
	a.New = rec.New
	a.PreviousAt = rec.PreviousAt
	a.Resolved = rec.Resolved
	a.Escalated, a.Ended, a.Final = rec.Escalated, rec.Ended, rec.Final
	return a, rec.Queued, nil
}

// store is the spool folder. It does no locking of its own beyond the
// folder lock: the Spool decides who writes, reads and removes which file.
type store struct {
	dir  string
	lock *os.File
}

// fileInfo describes one alert file found when the store is opened.
type fileInfo struct {
	id       uint64
	severity scanner.Severity
	size     int64
}

// openStore creates and locks dir, removes temporary files that an earlier
// process left behind, and lists the alert files in id order.
func openStore(dir string) (*store, []fileInfo, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create spool folder: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	st := &store{dir: dir, lock: lock}
	files, err := st.list()
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	return st, files, nil
}

func (st *store) list() ([]fileInfo, error) {
	dirEntries, err := os.ReadDir(st.dir)
	if err != nil {
		return nil, fmt.Errorf("list spool folder: %w", err)
	}
	var files []fileInfo
	for _, de := range dirEntries {
		name := de.Name()
		if strings.HasPrefix(name, tmpPrefix) {
			// A write that never reached its rename: its Send did not
			// return nil, so the alert is still owned by the caller.
			if err := os.Remove(filepath.Join(st.dir, name)); err != nil {
				return nil, fmt.Errorf("remove temporary spool file: %w", err)
			}
			continue
		}
		id, sev, ok := parseFileName(name)
		if !ok || !de.Type().IsRegular() {
			continue
		}
		info, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("stat spool file: %w", err)
		}
		files = append(files, fileInfo{id: id, severity: sev, size: info.Size()})
	}
	// os.ReadDir sorts by name and ids have a fixed width, so files are
	// already in id order.
	return files, nil
}

func fileName(id uint64, sev scanner.Severity) string {
	return fmt.Sprintf("%016x-%s%s", id, sev, fileSuffix)
}

func parseFileName(name string) (uint64, scanner.Severity, bool) {
	base, ok := strings.CutSuffix(name, fileSuffix)
	if !ok {
		return 0, 0, false
	}
	hexID, sevName, ok := strings.Cut(base, "-")
	if !ok || len(hexID) != 16 {
		return 0, 0, false
	}
	id, err := strconv.ParseUint(hexID, 16, 64)
	if err != nil {
		return 0, 0, false
	}
	sev, err := scanner.ParseSeverity(sevName)
	if err != nil {
		return 0, 0, false
	}
	return id, sev, true
}

// write stores data durably: the file and the folder entry are both synced
// before write returns, so the alert survives a crash or power loss.
func (st *store) write(id uint64, sev scanner.Severity, data []byte) error {
	f, err := os.CreateTemp(st.dir, tmpPrefix+"*")
	if err != nil {
		return fmt.Errorf("create spool file: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(st.dir, fileName(id, sev)))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write spool file: %w", err)
	}
	if err := syncDir(st.dir); err != nil {
		return fmt.Errorf("sync spool folder: %w", err)
	}
	return nil
}

func (st *store) read(id uint64, sev scanner.Severity) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(st.dir, fileName(id, sev)))
	if err != nil {
		return nil, fmt.Errorf("read spool file: %w", err)
	}
	return data, nil
}

// remove deletes a delivered or dropped alert. The folder is not synced
// afterwards: after a power loss the file may come back and the alert be
// sent a second time, which is the cheaper failure.
func (st *store) remove(id uint64, sev scanner.Severity) error {
	err := os.Remove(filepath.Join(st.dir, fileName(id, sev)))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool file: %w", err)
	}
	return nil
}

// close releases the folder lock.
func (st *store) close() error {
	if err := st.lock.Close(); err != nil {
		return fmt.Errorf("release spool lock: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if closeErr := d.Close(); err == nil {
		err = closeErr
	}
	return err
}
