// Tests of the Rust shim transport (crate shim/) against HashiCorp's own yamux and go-plugin.
// Run through `cargo test -p mattermost-plugin-shim --test go_host`, which builds the toy
// plugin and passes its path in SHIM_TEST_PLUGIN.
package shimtest

import (
	"os"
	"testing"
)

func pluginBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SHIM_TEST_PLUGIN")
	if bin == "" {
		t.Fatal("SHIM_TEST_PLUGIN is not set: run these tests with `cargo test -p mattermost-plugin-shim --test go_host`")
	}
	return bin
}
