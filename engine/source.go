package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Limits on what one policy may read, so that a mistake (a symlink to a
// huge file, a load loop) fails clearly instead of eating memory.
const (
	maxFiles    = 64
	maxFileSize = 256 << 10
)

// StockPrefix is how a policy loads the stock modules embedded from the
// policies package: load("@stock/fallback.star", "healthy_first").
const StockPrefix = "@stock/"

// source is a snapshot of the files one build reads: the entry, the modules
// it loads and the tests beside it. Everything is read once, so the hash
// describes exactly what was compiled.
type source struct {
	root   string // the policy directory
	entry  string // the entry file, relative to root
	suffix string // what follows ".star" in the entry's name (".example"), kept by test files
	stock  fs.FS
	files  map[string][]byte // by name as load() resolves it (root-relative, or @stock/…)
}

// resolvePath splits a policy path into its directory and entry file. A
// directory's entry is main.star or policies.star.
func resolvePath(p string) (root, entry string, err error) {
	if p == "" {
		p = "policies.star"
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", "", fmt.Errorf("engine: policy %s: %w", p, err)
	}
	if !fi.IsDir() {
		return filepath.Dir(p), filepath.Base(p), nil
	}
	for _, name := range []string{"main.star", "policies.star"} {
		if fi, err := os.Stat(filepath.Join(p, name)); err == nil && !fi.IsDir() {
			return p, name, nil
		}
	}
	return "", "", fmt.Errorf("engine: policy directory %s has neither main.star nor policies.star", p)
}

func newSource(root, entry string, stock fs.FS) *source {
	suffix := ""
	if i := strings.Index(entry, ".star"); i >= 0 {
		suffix = entry[i+len(".star"):]
	}
	return &source{root: root, entry: entry, suffix: suffix, stock: stock, files: make(map[string][]byte)}
}

// filename is the name Starlark positions use for a module: a path the
// user can open, or the @stock/ name.
func (s *source) filename(name string) string {
	if strings.HasPrefix(name, StockPrefix) {
		return name
	}
	return filepath.Join(s.root, filepath.FromSlash(name))
}

// resolve maps a load() argument to a module name: @stock/x.star, or a
// path relative to the policy directory ("lib/x.star", "//lib/x.star" and
// "./lib/x.star" are the same). Nothing outside the directory resolves.
func (s *source) resolve(module string) (string, error) {
	if rest, ok := strings.CutPrefix(module, StockPrefix); ok {
		if s.stock == nil {
			return "", fmt.Errorf("no stock modules available")
		}
		clean := path.Clean("/" + rest)
		return StockPrefix + clean[1:], nil
	}
	name := strings.TrimPrefix(module, "//")
	if path.IsAbs(name) || strings.Contains(name, `\`) {
		return "", fmt.Errorf("load %q: use a path relative to the policy directory", module)
	}
	// Clean without a leading "/" first: rooting the path would turn
	// "../x.star" into "x.star" silently, loading a different file than
	// the one asked for.
	if rel := path.Clean(name); rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("load %q: the path leaves the policy directory; policy modules must live in it (or use %s modules)", module, StockPrefix)
	}
	clean := path.Clean("/" + name)
	if clean == "/" {
		return "", fmt.Errorf("load %q: not a file", module)
	}
	return clean[1:], nil
}

// read returns a file's contents, reading it on first use.
func (s *source) read(name string) ([]byte, error) {
	if b, ok := s.files[name]; ok {
		return b, nil
	}
	if len(s.files) >= maxFiles {
		return nil, fmt.Errorf("more than %d policy files", maxFiles)
	}
	var b []byte
	var err error
	if rest, ok := strings.CutPrefix(name, StockPrefix); ok {
		b, err = fs.ReadFile(s.stock, rest)
	} else if err = s.inside(name); err == nil {
		b, err = readLimited(s.filename(name))
	}
	if err != nil {
		return nil, err
	}
	s.files[name] = b
	return b, nil
}

// inside refuses a module or test whose real path (symlinks resolved)
// lies outside the policy directory: the snapshot and its hash describe
// the policy directory, and a link out of it would make a policy depend
// on files nobody reviews with it. The entry is exempt: the operator
// named it on the command line. (Links that stay inside, such as a
// Kubernetes ConfigMap's ..data links, are fine.)
func (s *source) inside(name string) error {
	if name == s.entry {
		return nil
	}
	root, err := filepath.EvalSymlinks(s.root)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(s.filename(name))
	if err != nil {
		return err
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("%s: a symlink to %s, outside the policy directory %s: policy files must live in it", name, real, s.root)
	}
	return nil
}

func readLimited(name string) ([]byte, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", name)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("%s is larger than %d KiB", name, maxFileSize>>10)
	}
	return os.ReadFile(name)
}

// testFiles lists the policy's tests: *_test.star (with the entry's
// suffix, so policies.star.example pairs with policies_test.star.example)
// in the policy directory and its subdirectories (a lib/ of modules keeps
// its tests beside them), as slash-separated relative names, sorted.
// Hidden directories (.git, a ConfigMap's ..data) are skipped, and so are
// directories that are symlinks, which WalkDir does not follow, and
// directories that hold a policy of their own (isPolicyDir).
func (s *source) testFiles() ([]string, error) {
	var names []string
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != s.root && (strings.HasPrefix(d.Name(), ".") || s.isPolicyDir(p)) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), "_test.star"+s.suffix) {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		if len(names) >= maxFiles {
			return fmt.Errorf("more than %d test files", maxFiles)
		}
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// isPolicyDir reports whether dir holds a policy entry of its own
// (main.star or policies.star): another policy, such as an examples/
// directory beside the policy, whose tests are not this policy's.
func (s *source) isPolicyDir(dir string) bool {
	for _, name := range []string{"main.star", "policies.star"} {
		for _, n := range []string{name, name + s.suffix} {
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && !fi.IsDir() {
				return true
			}
		}
	}
	return false
}

// readTests reads every test file into the snapshot.
func (s *source) readTests() ([]string, error) {
	names, err := s.testFiles()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, err := s.read(n); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// names lists the snapshot's policy-directory files (not stock modules),
// sorted.
func (s *source) names() []string {
	var out []string
	for n := range s.files {
		if !strings.HasPrefix(n, StockPrefix) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// hash is a hex SHA-256 prefix over the sorted (name, contents) of every
// file read, stock modules included.
func (s *source) hash() string {
	names := make([]string, 0, len(s.files))
	for n := range s.files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintf(h, "%s\x00%d\x00", n, len(s.files[n]))
		h.Write(s.files[n])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// unsettled reports whether the snapshot holds an empty file: an editor
// caught between truncating and writing.
func (s *source) unsettled() bool {
	for n, b := range s.files {
		if len(b) == 0 && !strings.HasPrefix(n, StockPrefix) {
			return true
		}
	}
	return false
}

// errNotSettled marks a build that read an empty file.
var errNotSettled = errors.New("engine: a policy file is empty (still being written?)")
