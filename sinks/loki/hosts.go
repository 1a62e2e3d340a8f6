package loki

import "sync"

// hosts has one slot per push host of this process. loki-client-go counts
// sent and dropped entries per host, in counters that every client of the
// process shares, and a tracker reads them to confirm delivery. So at most
// one open sink may push to a host, and a client starts only after the
// previous client of its host has stopped, which may be after its sink was
// closed.
var hosts = struct {
	mu    sync.Mutex
	slots map[string]*hostSlot
}{slots: map[string]*hostSlot{}}

type hostSlot struct {
	// owner is the open sink that pushes to the host, or nil.
	owner *pusher
	// last is the newest session, which may still be stopping.
	last *session
}

func slotLocked(host string) *hostSlot {
	slot, ok := hosts.slots[host]
	if !ok {
		slot = &hostSlot{}
		hosts.slots[host] = slot
	}
	return slot
}

// claimHost makes p the owner of its host, or returns an error naming the
// open sink that owns it.
func claimHost(p *pusher) error {
	hosts.mu.Lock()
	defer hosts.mu.Unlock()
	slot := slotLocked(p.host)
	if slot.owner != nil && slot.owner != p {
		return hostConflict(p.name, slot.owner.name, p.host)
	}
	slot.owner = p
	return nil
}

// releaseHost gives up p's claim on its host.
func releaseHost(p *pusher) {
	hosts.mu.Lock()
	defer hosts.mu.Unlock()
	if slot := slotLocked(p.host); slot.owner == p {
		slot.owner = nil
	}
}

// startSession starts a session with create when the previous session of
// host has stopped. Otherwise it returns a channel that is closed when
// that session has stopped.
func startSession(host string, create func() (*session, error)) (*session, <-chan struct{}, error) {
	hosts.mu.Lock()
	defer hosts.mu.Unlock()
	slot := slotLocked(host)
	if slot.last != nil {
		select {
		case <-slot.last.done:
		default:
			return nil, slot.last.done, nil
		}
	}
	s, err := create()
	if err != nil {
		return nil, nil, err
	}
	slot.last = s
	return s, nil, nil
}
