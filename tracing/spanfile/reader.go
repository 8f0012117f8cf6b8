package spanfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Ext is the span file extension.
const Ext = ".jsonl"

// MaxProblems bounds WalkStats.Problems; the counters keep counting.
const MaxProblems = 100

// Position names one line of a span file (lines count from 1).
type Position struct {
	File string
	Line int64
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// Problem is a line Walk skipped.
type Problem struct {
	Position
	// Torn is true when the line is valid JSON cut short: a write the kernel
	// never completed because the process (or machine) died. Otherwise the
	// line is malformed or not of this schema.
	Torn bool
	Err  error
}

func (p Problem) String() string {
	what := "bad line"
	if p.Torn {
		what = "torn line"
	}
	return fmt.Sprintf("%s: %s: %v", p.Position, what, p.Err)
}

// WalkStats counts what Walk read.
type WalkStats struct {
	Files    int
	Bytes    int64
	Lines    int64 // non-blank lines
	Spans    int64 // lines decoded and handed to fn
	Torn     int64 // lines skipped as torn (see Problem.Torn)
	Bad      int64 // lines skipped as malformed
	Problems []Problem
}

// Reader streams span files. The zero value is ready to use; it is not
// safe for concurrent use.
type Reader struct {
	// Intern is passed to the Decoder (see Decoder.Intern).
	Intern func(b []byte) string

	dec  Decoder
	rec  Record
	long []byte
}

// Walk streams the span lines of files in order, calling fn for every line
// that decodes. The Record passed to fn is reused: copy what you keep. Torn
// and malformed lines are counted, recorded in WalkStats.Problems and
// skipped; they never stop the walk. Walk returns an error only when a
// file cannot be read or fn returns one.
func Walk(files []string, fn func(r *Record, pos Position) error) (WalkStats, error) {
	var rd Reader
	return rd.Walk(files, fn)
}

// Walk is the package-level Walk with r's settings.
func (rd *Reader) Walk(files []string, fn func(r *Record, pos Position) error) (WalkStats, error) {
	rd.dec.Intern = rd.Intern
	var st WalkStats
	for _, name := range files {
		if err := rd.walkFile(name, &st, fn); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (rd *Reader) walkFile(name string, st *WalkStats, fn func(*Record, Position) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("spanfile: %w", err)
	}
	defer f.Close()
	st.Files++
	br := bufio.NewReaderSize(f, 1<<20)
	pos := Position{File: name}
	for {
		line, tooLong, err := rd.readLine(br)
		if len(line) == 0 && !tooLong && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("spanfile: read %s: %w", pos, err)
		}
		pos.Line++
		st.Bytes += int64(len(line))
		switch {
		case tooLong:
			st.Lines++
			rd.problem(st, Problem{Position: pos, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)})
		case isBlank(line):
		default:
			st.Lines++
			// Decode without the terminator: a torn fragment that Open
			// terminated must read as cut short, not as a string with a
			// raw newline in it.
			line = bytes.TrimSuffix(line, []byte{'\n'})
			if derr := rd.dec.Decode(line, &rd.rec); derr != nil {
				rd.problem(st, Problem{Position: pos, Torn: errors.Is(derr, ErrTruncated), Err: derr})
				break
			}
			st.Spans++
			if ferr := fn(&rd.rec, pos); ferr != nil {
				return ferr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// readLine returns the next line including its newline (absent on the last,
// unterminated line). A line longer than MaxLineBytes is consumed and
// reported as tooLong, without its bytes.
func (rd *Reader) readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		return line, false, err
	}
	rd.long = append(rd.long[:0], line...)
	for errors.Is(err, bufio.ErrBufferFull) {
		line, err = br.ReadSlice('\n')
		if !tooLong && len(rd.long)+len(line) > MaxLineBytes {
			tooLong = true
			rd.long = rd.long[:0]
		}
		if !tooLong {
			rd.long = append(rd.long, line...)
		}
	}
	if tooLong {
		return nil, true, err
	}
	if cap(rd.long) > 4*MaxLineBytes {
		rd.long = nil
	}
	return rd.long, false, err
}

func (rd *Reader) problem(st *WalkStats, p Problem) {
	if p.Torn {
		st.Torn++
	} else {
		st.Bad++
	}
	if len(st.Problems) < MaxProblems {
		st.Problems = append(st.Problems, p)
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// Files lists the span files (*.jsonl) under dir, recursively, sorted.
func Files(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(d.Name(), Ext) {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spanfile: list span files: %w", err)
	}
	slices.Sort(out)
	return out, nil
}
