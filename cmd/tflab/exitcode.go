package main

import (
	"errors"
	"fmt"
)

// ExitCode is tflab's process exit status (DESIGN.md §6).
type ExitCode int

const (
	ExitPass         ExitCode = 0 // everything held
	ExitError        ExitCode = 1 // the run itself failed
	ExitUsage        ExitCode = 2 // bad usage or configuration
	ExitEnvironment  ExitCode = 3 // the environment is not usable (missing broker, no Docker, …)
	ExitViolated     ExitCode = 4 // an invariant was violated
	ExitInconclusive ExitCode = 5 // the fault left no evidence
)

// codedError attaches an exit code to an error.
type codedError struct {
	code ExitCode
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// withCode wraps err so that tflab exits with code; nil stays nil.
func withCode(code ExitCode, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// usageErrorf is a bad-usage error (exit 2).
func usageErrorf(format string, args ...any) error {
	return withCode(ExitUsage, fmt.Errorf(format, args...))
}

// exitCodeOf maps an error to the exit code; unknown errors are ExitError.
func exitCodeOf(err error) ExitCode {
	if err == nil {
		return ExitPass
	}
	if ce, ok := errors.AsType[*codedError](err); ok {
		return ce.code
	}
	return ExitError
}
