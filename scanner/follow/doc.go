// Package follow finds the container log files of a Kubernetes node and
// follows them as they grow, across rotation, truncation, new and deleted
// pods, and restarts of the process.
//
// A Tailer discovers files under the kubelet's log root
// (<root>/<namespace>_<pod>_<uid>/<container>/<n>.log) and extra files named
// by glob. It runs one follower goroutine per path. A follower pins its file
// by device and inode, and keeps its own descriptor open, so a rename, a
// deletion or a compressed copy never cuts the reading short. It learns of
// growth from the polling watcher of github.com/nxadm/tail on that
// descriptor, and reads all new bytes in large reads. Folders are watched with
// inotify for new, deleted and renamed entries. Followers send Batches of
// raw lines on one channel.
//
// A Pipeline consumes those batches in one goroutine: it decodes each file's
// lines, merges the files by event time, runs the rule engine, hands every
// alert to the caller, and records how far each file has been handled. The
// positions and the engine's state are saved together in one state file, so
// a restart resumes where the alerts left off.
//
// The package needs a Unix system: file identity comes from stat(2), and the
// watcher stats pinned files through /proc/self/fd on Linux and /dev/fd
// elsewhere.
package follow
