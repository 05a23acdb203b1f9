// Package docs holds the tests of the repository's documentation: every
// workflow in the README passes actionlint, and none pastes an expression
// into a shell script. It has no code of its own.
package docs
