package scanner

import (
	"sync"
	"time"
)

// parseRFC3339 parses an RFC 3339 timestamp with an optional fraction of up
// to nine digits and a "Z" or ±hh:mm offset, the forms containerd, CRI-O and
// Docker write. Unlike time.Parse it does not allocate, which matters because
// it runs on every line.
func parseRFC3339(b []byte) (time.Time, bool) {
	if len(b) < len("2006-01-02T15:04:05Z") || b[4] != '-' || b[7] != '-' ||
		(b[10] != 'T' && b[10] != 't' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := atoi(b[0:4])
	month, ok2 := atoi(b[5:7])
	day, ok3 := atoi(b[8:10])
	hour, ok4 := atoi(b[11:13])
	minute, ok5 := atoi(b[14:16])
	sec, ok6 := atoi(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || !plausibleYear(year) || month < 1 || month > 12 || day < 1 ||
		day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	nsec, rest, ok := parseFraction(b[19:])
	if !ok {
		return time.Time{}, false
	}
	loc, ok := parseZone(rest)
	if !ok {
		return time.Time{}, false
	}
	if loc == time.UTC {
		// containerd and Docker usually write UTC. Counting the seconds
		// directly costs a fraction of time.Date and normalises the same.
		secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
		return time.Unix(secs, int64(nsec)).UTC(), true
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), true
}

// parseFraction reads an optional fraction of a second, "." or "," and up to
// nine digits (more are ignored), and returns it in nanoseconds with the
// rest of b.
func parseFraction(b []byte) (nsec int, rest []byte, ok bool) {
	if len(b) == 0 || (b[0] != '.' && b[0] != ',') {
		return 0, b, true
	}
	digits, i := 0, 1
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if digits < 9 {
			nsec = nsec*10 + int(b[i]-'0')
			digits++
		}
	}
	if i == 1 {
		return 0, nil, false
	}
	for ; digits < 9; digits++ {
		nsec *= 10
	}
	return nsec, b[i:], true
}

// timeCache keeps the whole seconds of the last UTC timestamp parsed, keyed
// by its text up to the seconds. Consecutive lines of a busy log mostly
// share them, and comparing 19 bytes costs less than parsing them.
type timeCache struct {
	prefix [19]byte
	secs   int64
	valid  bool
}

// parse is parseRFC3339 with the cache.
func (c *timeCache) parse(b []byte) (time.Time, bool) {
	if c.valid && len(b) > len(c.prefix) && string(b[:len(c.prefix)]) == string(c.prefix[:]) {
		if nsec, rest, ok := parseFraction(b[len(c.prefix):]); ok && len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z') {
			return time.Unix(c.secs, int64(nsec)).UTC(), true
		}
	}
	t, ok := parseRFC3339(b)
	if ok && (b[len(b)-1] == 'Z' || b[len(b)-1] == 'z') {
		copy(c.prefix[:], b)
		c.secs, c.valid = t.Unix(), true
	}
	return t, ok
}

// daysSinceEpoch returns the days from 1970-01-01 to a date of the
// proleptic Gregorian calendar. A day past the month's end counts on into
// the next month, as time.Date does.
func daysSinceEpoch(year, month, day int) int64 {
	// Count years from March, so that the leap day ends a year.
	if month <= 2 {
		year--
	}
	era := year / 400 // years are 1970 or later, so no negative division
	yearOfEra := year - era*400
	monthFromMarch := (month + 9) % 12
	dayOfYear := (153*monthFromMarch+2)/5 + day - 1
	dayOfEra := yearOfEra*365 + yearOfEra/4 - yearOfEra/100 + dayOfYear
	return int64(era*146097+dayOfEra) - 719468
}

// plausibleYear bounds the years a log timestamp can have. Year 1 is Go's
// zero time, which the engine reads as "no time", and no log line predates
// the Unix epoch.
func plausibleYear(year int) bool { return year >= 1970 && year <= 9999 }

// parseZone reads "Z" or an offset such as "+01:00" or "+0100".
func parseZone(b []byte) (*time.Location, bool) {
	if len(b) == 1 && (b[0] == 'Z' || b[0] == 'z') {
		return time.UTC, true
	}
	if len(b) != 6 && len(b) != 5 || (b[0] != '+' && b[0] != '-') {
		return nil, false
	}
	hh, ok1 := atoi(b[1:3])
	mmPart := b[3:]
	if len(b) == 6 {
		if b[3] != ':' {
			return nil, false
		}
		mmPart = b[4:]
	}
	mm, ok2 := atoi(mmPart)
	if !ok1 || !ok2 || hh > 23 || mm > 59 {
		return nil, false
	}
	offset := hh*3600 + mm*60
	if b[0] == '-' {
		offset = -offset
	}
	return fixedZone(offset), true
}

var zones sync.Map // offset in seconds → *time.Location

// fixedZone returns a shared location for an offset, because time.FixedZone
// allocates and a CRI-O node writes the same offset on every line.
func fixedZone(offset int) *time.Location {
	if offset == 0 {
		return time.UTC
	}
	if loc, ok := zones.Load(offset); ok {
		return loc.(*time.Location)
	}
	loc, _ := zones.LoadOrStore(offset, time.FixedZone("", offset))
	return loc.(*time.Location)
}

func atoi(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(b) > 0
}
