package mmhost

// Other libraries' types through the shim (their gob forms are written by hand in the gob
// crate, JSON on the contract): OnSAMLLogin's saml2.AssertionInfo reaching Python, and
// LogAuditRecWithLevel's mlog.Level reaching the server. Both are newer than server/public
// v0.1.x, so this file is not shared with mmhost-v0.1.10.

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"encoding/xml"

	saml2 "github.com/mattermost/gosaml2"
	"github.com/mattermost/gosaml2/types"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"github.com/mattermost/mattermost/server/public/shared/mlog"
)

const externalsPluginPy = `import json

from mattermost_plugin import Plugin, hook, run_plugin
from mattermost_plugin_api import models
from mattermost_plugin_api.errors import PluginAPIError


class Externals(Plugin):
    @hook
    def on_saml_login(self, user: models.User, assertion: bytes | None) -> None:
        if assertion is None:
            raise RuntimeError("no assertion")
        info = json.loads(assertion)
        if info["NameID"] == "refuse":
            raise RuntimeError("refused by the plugin")
        email = info["Values"]["email"]["Values"][0]["Value"]
        audience = info["WarningInfo"]["ProxyRestriction"]["Audience"]
        line = f"{user.username} {info['NameID']} {email} {info['AuthnInstant']} {info['SessionNotOnOrAfter']} {audience}"
        self.api.kv_set(key="saml", value=line.encode())

    @hook
    def execute_command(self, args: models.CommandArgs) -> models.CommandResponse:
        rec = models.AuditRecord(event_name="shim.test", status="success", meta={"n": 1})
        self.api.log_audit_rec_with_level(rec=rec, level=json.dumps({"id": 10, "name": "audit-api"}).encode())
        try:
            self.api.log_audit_rec_with_level(rec=rec, level=b"warn")
        except PluginAPIError as e:
            # LogAuditRecWithLevel has no error result in Go: the refusal is the call's failure.
            return models.CommandResponse(text=f"rejected: {e}")
        return models.CommandResponse(text="a malformed level was sent")


run_plugin(Externals)
`

// auditAPI records the audit records and levels the plugin logs.
type auditAPI struct {
	*fakeAPI
	mu     sync.Mutex
	audits []string
}

func (a *auditAPI) LogAuditRecWithLevel(rec *model.AuditRecord, level mlog.Level) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.audits = append(a.audits, rec.EventName+" "+rec.Status+" "+level.Name+" "+strings.Repeat("*", int(level.ID)))
}

func TestOtherLibrariesTypesThroughTheShim(t *testing.T) {
	pluginDir, dir, _ := bundle(t)
	must(t, os.WriteFile(filepath.Join(dir, "plugin.py"), []byte(externalsPluginPy), 0o644))
	api := &auditAPI{fakeAPI: &fakeAPI{}}
	env, _ := bundleEnvironment(t, api, pluginDir)
	defer env.Shutdown()
	if _, activated, err := env.Activate(pluginID); err != nil || !activated {
		t.Fatalf("Activate: activated=%v err=%v", activated, err)
	}
	hooks, err := env.HooksForPlugin(pluginID)
	must(t, err)

	// OnSAMLLogin: the assertion arrives whole but for its raw XML.
	at := time.Date(2024, 5, 6, 7, 8, 9, 120000000, time.UTC)
	until := time.Date(2024, 5, 6, 15, 8, 9, 0, time.FixedZone("", -5*3600))
	name := xml.Name{Space: "urn:oasis:names:tc:SAML:2.0:assertion", Local: "AttributeValue"}
	assertion := &saml2.AssertionInfo{
		NameID: "ada-saml",
		Values: saml2.Values{"email": types.Attribute{Name: "email", Values: []types.AttributeValue{{XMLName: name, Value: "ada@example.com"}}}},
		WarningInfo: &saml2.WarningInfo{
			ProxyRestriction: &saml2.ProxyRestriction{Count: 1, Audience: []string{"mattermost", "other"}},
		},
		AuthnInstant:        &at,
		SessionNotOnOrAfter: &until,
	}
	if err := hooks.OnSAMLLogin(&plugin.Context{}, &model.User{Username: "ada"}, assertion); err != nil {
		t.Fatalf("OnSAMLLogin: %v", err)
	}
	want := "ada ada-saml ada@example.com 2024-05-06T07:08:09.12Z 2024-05-06T15:08:09-05:00 ['mattermost', 'other']"
	if got := string(api.kvValue("saml")); got != want {
		t.Fatalf("OnSAMLLogin reached Python as %q, want %q", got, want)
	}
	assertion.NameID = "refuse"
	if err := hooks.OnSAMLLogin(&plugin.Context{}, &model.User{Username: "ada"}, assertion); err == nil || !strings.Contains(err.Error(), "refused by the plugin") {
		t.Fatalf("OnSAMLLogin refusal: %v", err)
	}

	// LogAuditRecWithLevel: the level reaches the server; a malformed one is the plugin's 400.
	resp, appErr := hooks.ExecuteCommand(&plugin.Context{}, &model.CommandArgs{Command: "/audit"})
	if appErr != nil || resp == nil || !strings.HasPrefix(resp.Text, "rejected: ") || !strings.Contains(resp.Text, "`level` is not a valid Level") {
		t.Fatalf("ExecuteCommand: %+v %v", resp, appErr)
	}
	t.Logf("the malformed level: %s", resp.Text)
	api.mu.Lock()
	audits := append([]string(nil), api.audits...)
	api.mu.Unlock()
	if len(audits) != 1 || audits[0] != "shim.test success audit-api **********" {
		t.Fatalf("audit records the server got: %q", audits)
	}
}
