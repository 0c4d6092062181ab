package engine

import (
	"context"
	"errors"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// unsettledRetries is how many times Watch re-arms the debounce when it
// reads an empty policy file (an editor between truncate and write) before
// reporting the error.
const unsettledRetries = 5

// Watch reloads the policy when its files change, until ctx is done (then
// it returns nil). It watches the policy's directory, not the files, so
// rename-on-save editors and Kubernetes ConfigMap symlink swaps are seen;
// it ignores chmod events and the files in Config.Ignore, debounces
// bursts (Config.Debounce), skips changes that leave every file's content
// as it was, and re-arms when it reads an empty file. A failed reload
// keeps the live policy (see Reload). If the watcher cannot start, Watch
// polls instead.
func (e *Engine) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	var events <-chan fsnotify.Event
	var errs <-chan error
	poll := e.cfg.PollInterval
	if err != nil {
		if poll <= 0 {
			poll = 2 * time.Second
		}
	} else {
		defer w.Close()
		events, errs = w.Events, w.Errors
		e.watchDirs(w)
	}

	debounce := e.cfg.Debounce
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}

	ignored := ignoreSet(e.cfg.Ignore)
	retries := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Op == fsnotify.Chmod || ignored[filepath.Clean(ev.Name)] {
				continue
			}
			timer.Reset(debounce)
		case _, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			timer.Reset(debounce) // overflow or similar: reload to be sure
		case <-tick:
			timer.Reset(0)
		case <-timer.C:
			err := e.Reload(ctx)
			if errors.Is(err, errNotSettled) && retries < unsettledRetries {
				retries++
				timer.Reset(debounce)
				continue
			}
			if errors.Is(err, errNotSettled) {
				e.recordFailure(err)
			}
			retries = 0
			if w != nil {
				e.watchDirs(w)
			}
		}
	}
}

// watchDirs watches the policy directory and every directory holding one
// of the live policy's files (modules in subdirectories). Adding a watched
// directory again is harmless.
func (e *Engine) watchDirs(w *fsnotify.Watcher) {
	root, _, err := resolvePath(e.cfg.Path)
	if err != nil {
		return // the directory is gone; the next event (or poll) retries
	}
	dirs := map[string]bool{root: true}
	for _, f := range e.Policy().Files {
		dirs[filepath.Dir(filepath.Join(root, filepath.FromSlash(f)))] = true
	}
	for d := range dirs {
		_ = w.Add(absPath(d)) // events then name absolute paths, as ignoreSet's are
	}
}

// ignoreSet returns the absolute paths of names, for Watch to skip their
// events.
func ignoreSet(names []string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[absPath(n)] = true
	}
	return set
}

// absPath is p made absolute and clean, so that an event's name (a
// watched directory joined with the file's) and a configured name compare
// equal however each was written. It is called when directories are
// added and names configured, not per event: for a relative path it asks
// the system for the working directory.
func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// recordFailure records a reload failure that never reached reload's own
// bookkeeping.
func (e *Engine) recordFailure(err error) {
	e.mu.Lock()
	e.status.LastError, e.status.LastErrorAt = err.Error(), e.now()
	e.status.ReloadFailures++
	s := e.status
	e.mu.Unlock()
	if e.cfg.OnReload != nil {
		e.cfg.OnReload(s)
	}
}
