package model

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxFileSize bounds each model file; larger files are rejected unread.
const MaxFileSize = 1 << 20

// MaxIncludeDepth bounds how deeply includes nest (the root is depth 0).
const MaxIncludeDepth = 16

// maxFiles bounds the distinct files one model may pull in.
const maxFiles = 256

// Load reads the model file at name and every file it includes, relative to
// the including file's directory, and validates the merged model.
func Load(name string) (*Model, error) {
	return load(osSource{}, name)
}

// LoadFS is Load over a file system; name and includes are slash-separated
// paths inside fsys (so an include may not climb above its root).
func LoadFS(fsys fs.FS, name string) (*Model, error) {
	return load(fsSource{fsys}, name)
}

// Parse reads one model document held in memory; name is used in errors.
// It reads no files, so a document with includes is an error here: use Load
// or LoadFS for those.
func Parse(data []byte, name string) (*Model, error) {
	l := newLoader(nil)
	l.parseFile(data, name, name, []string{name})
	return l.finish()
}

// source reads model files. key identifies a file for cycle and repeat
// detection; display is how errors name it.
type source interface {
	read(key string) ([]byte, error)
	root(name string) (key, display string, err error)
	resolve(parentKey, parentDisplay, rel string) (key, display string, err error)
}

type osSource struct{}

func (osSource) read(key string) ([]byte, error) {
	f, err := os.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f)
}

func (osSource) root(name string) (string, string, error) {
	abs, err := filepath.Abs(name)
	return abs, name, err
}

func (osSource) resolve(parentKey, parentDisplay, rel string) (string, string, error) {
	if filepath.IsAbs(rel) {
		return "", "", errors.New("must be relative to the including file")
	}
	return filepath.Join(filepath.Dir(parentKey), rel), filepath.Join(filepath.Dir(parentDisplay), rel), nil
}

type fsSource struct{ fsys fs.FS }

func (s fsSource) read(key string) ([]byte, error) {
	f, err := s.fsys.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f)
}

func (fsSource) root(name string) (string, string, error) {
	if !fs.ValidPath(name) {
		return "", "", fmt.Errorf("%q is not a valid path in the file system", name)
	}
	return name, name, nil
}

func (fsSource) resolve(parentKey, _, rel string) (string, string, error) {
	if path.IsAbs(rel) {
		return "", "", errors.New("must be relative to the including file")
	}
	p := path.Join(path.Dir(parentKey), rel)
	if !fs.ValidPath(p) {
		return "", "", errors.New("climbs above the file system's root")
	}
	return p, p, nil
}

func readBounded(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, errTooLarge
	}
	return data, nil
}

var errTooLarge = fmt.Errorf("larger than %d bytes", MaxFileSize)

// loader holds the state of one Load: the files seen, the merged model and
// the line tables that semantic checks need.
type loader struct {
	src     source
	errs    collector
	m       Model
	lines   map[string]map[string]int // file -> field path -> line
	seen    map[string]bool           // keys of files already merged
	display map[string]string         // key -> display name
	root    string                    // display name of the root file
	broken  bool                      // a file did not parse as one YAML document
}

func newLoader(src source) *loader {
	return &loader{src: src, lines: map[string]map[string]int{}, seen: map[string]bool{}, display: map[string]string{}}
}

func load(src source, name string) (*Model, error) {
	l := newLoader(src)
	key, display, err := src.root(name)
	if err != nil {
		l.errs.add(&Error{File: name, Msg: err.Error(), Err: ErrInclude})
		return l.finish()
	}
	data, err := src.read(key)
	if err != nil {
		l.errs.add(readError(display, 0, "", err))
		return l.finish()
	}
	l.parseFile(data, key, display, []string{key})
	return l.finish()
}

func readError(file string, line int, at string, err error) *Error {
	if errors.Is(err, errTooLarge) {
		return &Error{File: file, Line: line, Path: at, Msg: err.Error(), Err: ErrTooLarge}
	}
	msg := "cannot be read"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg = "file does not exist"
	case errors.Is(err, fs.ErrPermission):
		msg = "permission denied"
	}
	return &Error{File: file, Line: line, Path: at, Msg: msg, Err: ErrInclude}
}

// parseFile decodes one file, merges it, then follows its includes depth
// first. stack holds the keys from the root to this file, for cycles.
func (l *loader) parseFile(data []byte, key, display string, stack []string) {
	l.seen[key] = true
	l.display[key] = display
	l.m.Files = append(l.m.Files, display)
	if len(data) > MaxFileSize {
		l.errs.add(&Error{File: display, Msg: errTooLarge.Error(), Err: ErrTooLarge})
		return
	}
	if len(stack) <= 1 {
		l.root = display
	}
	root, ok := l.parseYAML(data, display)
	if !ok {
		l.broken = true
		return
	}
	var fm Model
	d := &decoder{file: display, errs: &l.errs, lines: map[string]int{}}
	d.decode(root, reflect.ValueOf(&fm).Elem(), "", 0)
	l.lines[display] = d.lines
	if len(stack) <= 1 {
		l.m.Meta = fm.Meta
	}
	l.merge(&fm)
	l.includes(fm.Meta.Includes, key, display, stack)
}

// parseYAML reads exactly one YAML document, turning any parser panic into
// an error: hostile input must never take the process down.
func (l *loader) parseYAML(data []byte, file string) (root *yaml.Node, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			l.errs.add(&Error{File: file, Msg: "yaml parser failed on this input", Err: ErrSyntax})
			root, ok = nil, false
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.errs.add(&Error{File: file, Msg: "empty model", Err: ErrMissing})
		} else {
			l.errs.add(&Error{File: file, Line: syntaxLine(err), Msg: syntaxMsg(err), Err: ErrSyntax})
		}
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = syntaxLine(err)
		}
		l.errs.add(&Error{File: file, Line: line, Msg: "a model file holds one yaml document", Err: ErrSyntax})
		return nil, false
	}
	if len(doc.Content) != 1 {
		l.errs.add(&Error{File: file, Msg: "empty model", Err: ErrMissing})
		return nil, false
	}
	return doc.Content[0], true
}

// syntaxLine digs the line out of a yaml.v3 error ("yaml: line 3: ..."),
// the only place the library reports it.
func syntaxLine(err error) int {
	var line int
	if _, scanErr := fmt.Sscanf(err.Error(), "yaml: line %d:", &line); scanErr == nil {
		return line
	}
	return 0
}

func syntaxMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
		return rest
	}
	return msg
}

func (l *loader) merge(fm *Model) {
	l.m.Stakeholders = append(l.m.Stakeholders, fm.Stakeholders...)
	l.m.UseCases = append(l.m.UseCases, fm.UseCases...)
	l.m.Components = append(l.m.Components, fm.Components...)
	l.m.TrustBoundaries = append(l.m.TrustBoundaries, fm.TrustBoundaries...)
	l.m.Flows = append(l.m.Flows, fm.Flows...)
	l.m.Requirements = append(l.m.Requirements, fm.Requirements...)
	l.m.Controls = append(l.m.Controls, fm.Controls...)
	l.m.NotApplicable = append(l.m.NotApplicable, fm.NotApplicable...)
}

func (l *loader) includes(incs []string, key, display string, stack []string) {
	lines := l.lines[display]
	for i, inc := range incs {
		at := fmt.Sprintf("model.includes[%d]", i)
		fail := func(cause error, format string, args ...any) {
			l.errs.add(&Error{File: display, Line: lines[at], Path: at, Msg: fmt.Sprintf(format, args...), Err: cause})
		}
		if l.src == nil {
			fail(ErrInclude, "includes need a file system: use Load or LoadFS")
			continue
		}
		if inc == "" {
			fail(ErrMissing, "empty include path")
			continue
		}
		ckey, cdisplay, err := l.src.resolve(key, display, inc)
		switch {
		case err != nil:
			fail(ErrInclude, "include %q %s", inc, err)
			continue
		case indexOf(stack, ckey) >= 0:
			fail(ErrIncludeCycle, "include cycle: %s", l.cycleText(stack[indexOf(stack, ckey):], cdisplay))
			continue
		case l.seen[ckey]:
			continue // a diamond: the file is already merged once
		case len(stack) > MaxIncludeDepth:
			fail(ErrTooDeep, "includes nest deeper than %d", MaxIncludeDepth)
			continue
		case len(l.seen) >= maxFiles:
			fail(ErrTooLarge, "a model may read at most %d files", maxFiles)
			continue
		}
		data, err := l.src.read(ckey)
		if err != nil {
			e := readError(display, lines[at], at, err)
			e.Msg = fmt.Sprintf("include %q: %s", inc, e.Msg)
			l.errs.add(e)
			continue
		}
		l.parseFile(data, ckey, cdisplay, append(stack[:len(stack):len(stack)], ckey))
	}
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// cycleText names the files of a cycle as the user wrote them.
func (l *loader) cycleText(keys []string, back string) string {
	names := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		names = append(names, l.displayOf(k))
	}
	return strings.Join(append(names, back), " -> ")
}

func (l *loader) displayOf(key string) string { return l.display[key] }

func (l *loader) finish() (*Model, error) {
	if !l.fatal() {
		l.validate()
	}
	if err := l.errs.err(); err != nil {
		return nil, err
	}
	m := l.m
	m.normalise()
	m.Reindex()
	return &m, nil
}

// fatal reports whether a file could not be read or parsed; semantic checks
// would then only add noise about elements that are missing for that reason.
func (l *loader) fatal() bool {
	if l.broken {
		return true
	}
	for _, e := range l.errs.list {
		for _, cause := range []error{ErrSyntax, ErrInclude, ErrIncludeCycle, ErrTooDeep, ErrTooLarge, ErrTooMany} {
			if errors.Is(e, cause) {
				return true
			}
		}
	}
	return false
}

// normalise fills the defaults the format documents.
func (m *Model) normalise() {
	for i := range m.Flows {
		if m.Flows[i].Protection.Encrypted == "" {
			m.Flows[i].Protection.Encrypted = NoEnc
		}
	}
}
