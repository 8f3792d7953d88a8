// Package exitcode defines argo-cred's failure classes and their exit codes,
// once, for every command.
package exitcode

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a process exit code; each failure class has its own.
type Code int

// The exit codes, documented in the README and in --help.
const (
	OK               Code = 0   // everything checked out
	Unexpected       Code = 1   // anything not classified below
	Usage            Code = 2   // bad flags, environment or configuration
	TokenUnavailable Code = 3   // no usable token could be obtained
	Unreachable      Code = 4   // the Argo Server could not be reached (DNS, refused, TLS, timeout, 5xx)
	TokenRejected    Code = 5   // the Argo Server answered 401
	MissingAccess    Code = 6   // an allow expectation was denied (403), or Kubernetes refused a lifecycle command
	ExcessAccess     Code = 7   // a deny expectation was allowed, or the request ran as another identity
	Interrupted      Code = 130 // SIGINT, SIGTERM, SIGHUP or SIGQUIT arrived before argo-cred finished
)

// classes names each code, with what falls into it, for --help and docs.
var classes = map[Code]struct{ name, detail string }{
	OK:               {"ok", ""},
	Unexpected:       {"unexpected error", ""},
	Usage:            {"usage or configuration error", ""},
	TokenUnavailable: {"token unavailable", "Secret missing, wrong type, not filled within --wait, empty, unreadable file"},
	Unreachable:      {"Argo Server unreachable", "DNS, refused, TLS, timeout, 5xx after retries"},
	TokenRejected:    {"token rejected", "401"},
	MissingAccess:    {"missing access", "an allow expectation got 403 or, with --strict, could not be checked; or the Kubernetes identity running provision, rotate, revoke or oidc-config --apply lacks a permission"},
	ExcessAccess:     {"too much access", "a deny expectation succeeded, or the request ran as another identity, or the token's identity could not be checked"},
	Interrupted:      {"interrupted", "SIGINT, SIGTERM, SIGHUP or SIGQUIT; nothing was written"},
}

func (c Code) String() string {
	if cl, ok := classes[c]; ok {
		return cl.name
	}
	return fmt.Sprintf("exit code %d", int(c))
}

// all lists the codes in order, for help texts and docs.
func all() []Code {
	return []Code{OK, Unexpected, Usage, TokenUnavailable, Unreachable, TokenRejected, MissingAccess, ExcessAccess, Interrupted}
}

// Help is the exit-code table of --help.
func Help() string {
	var b strings.Builder
	b.WriteString("Exit codes:\n")
	for _, c := range all() {
		cl := classes[c]
		fmt.Fprintf(&b, "  %-3d  %s", int(c), cl.name)
		if cl.detail != "" {
			fmt.Fprintf(&b, " (%s)", cl.detail)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Error is an error with a failure class and an optional hint saying what to do.
type Error struct {
	Code Code
	Err  error
	Hint string
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of class code with a formatted message.
func New(code Code, hint, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...), Hint: hint}
}

// Wrap gives err the class code and a hint; a nil err stays nil.
func Wrap(code Code, hint string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err, Hint: hint}
}

// ErrChild marks the exit code of a program argo-cred ran and waited for:
// passed on as it is, with no error line of argo-cred's.
var ErrChild = errors.New("the program argo-cred ran exited")

// Child returns the exit code of a program argo-cred ran as an error (nil
// for 0).
func Child(code int) error {
	if code == 0 {
		return nil
	}
	return &Error{Code: Code(code), Err: ErrChild}
}

// Of returns the exit code for err: 0 for nil, the class of the outermost
// classified error, or Unexpected.
func Of(err error) Code {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Unexpected
}

// Hint returns the hint of the outermost classified error, if any.
func Hint(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Hint
	}
	return ""
}

// Line is the one line argo-cred prints for err: "error: " and the error,
// then "; " and its hint, if any.
func Line(err error) string {
	line := "error: " + err.Error()
	if h := Hint(err); h != "" {
		line += "; " + h
	}
	return line
}
