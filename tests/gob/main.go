// gobcheck drives the gob cross-check of the generated Rust wire types (generated/gob) against
// Go's encoding/gob and Mattermost's own types.
//
//	gobcheck encode <names-file> <dir>   writes <dir>/<name>.gob: a populated value of each type
//	                                     (`Z_…Returns` with its error unset; `Z_…Returns#error`
//	                                     with only its error set)
//	gobcheck verify <names-file> <dir>   decodes <dir>/<name>.back.gob (what Rust re-encoded) and
//	                                     compares it with the value it started from
//
// Types are found by reflection from plugin.API and plugin.Hooks: the model and plugin structs
// their signatures reach, by `package.Name`; and each method's net/rpc arguments and results are
// Mattermost's own `plugin.Z_<Method>Args`/`Returns` (listed by generated/gob/go).
package main

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"encoding/xml"

	saml2 "github.com/mattermost/gosaml2"
	"github.com/mattermost/gosaml2/types"
	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
	"ztypes"
)

const modulePath = "github.com/mattermost/mattermost/server/public/"

var (
	rawJSON  = reflect.TypeOf(json.RawMessage{})
	timeType = reflect.TypeOf(time.Time{})
	duration = reflect.TypeOf(time.Duration(0))
	errType  = reflect.TypeOf((*error)(nil)).Elem()
	appError = reflect.TypeOf(&model.AppError{})
	samlInfo = reflect.TypeOf(saml2.AssertionInfo{})
)

// sampleAssertion sets every field of gosaml2's AssertionInfo the Rust side carries (its gob
// form is hand-written); the raw XML `Assertions` are not carried and stay nil.
func sampleAssertion() saml2.AssertionInfo {
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	until := at.Add(8 * time.Hour)
	name := func(local string) xml.Name {
		return xml.Name{Space: "urn:oasis:names:tc:SAML:2.0:assertion", Local: local}
	}
	return saml2.AssertionInfo{
		NameID: "ada@example.com",
		Values: saml2.Values{"email": types.Attribute{
			XMLName: name("Attribute"), FriendlyName: "mail", Name: "email", NameFormat: "basic",
			Values: []types.AttributeValue{{XMLName: name("AttributeValue"), Type: "xs:string", Value: "ada@example.com"}},
		}},
		WarningInfo: &saml2.WarningInfo{
			OneTimeUse:       true,
			ProxyRestriction: &saml2.ProxyRestriction{Count: 2, Audience: []string{"mattermost"}},
			NotInAudience:    true,
			InvalidTime:      true,
		},
		SessionIndex:               "session-1",
		AuthnInstant:               &at,
		SessionNotOnOrAfter:        &until,
		ResponseSignatureValidated: true,
	}
}

func main() {
	if len(os.Args) != 4 {
		fail("usage: gobcheck encode|verify <names-file> <dir>")
	}
	names, err := os.ReadFile(os.Args[2])
	check(err)
	types := index()
	var problems []string
	for _, name := range strings.Fields(string(names)) {
		base, failing := strings.CutSuffix(name, "#error")
		t, ok := types[base]
		if !ok {
			problems = append(problems, name+": the Go side has no such type")
			continue
		}
		original := populate(t, 0)
		if strings.HasPrefix(base, "Z_") && strings.HasSuffix(base, "Returns") {
			// A call either fails or returns results, never both.
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i).Type
				if (f == appError || f == errType) != failing {
					original.Field(i).Set(reflect.Zero(f))
				}
			}
		}
		path := filepath.Join(os.Args[3], name)
		switch os.Args[1] {
		case "encode":
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(original.Addr().Interface()); err != nil {
				problems = append(problems, fmt.Sprintf("%s: encoding: %v", name, err))
				continue
			}
			check(os.WriteFile(path+".gob", buf.Bytes(), 0o644))
		case "verify":
			back, err := os.ReadFile(path + ".back.gob")
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", name, err))
				continue
			}
			decoded := reflect.New(t)
			if err := gob.NewDecoder(bytes.NewReader(back)).Decode(decoded.Interface()); err != nil {
				problems = append(problems, fmt.Sprintf("%s: decoding what Rust sent: %v", name, err))
				continue
			}
			if !reflect.DeepEqual(original.Interface(), decoded.Elem().Interface()) {
				problems = append(problems, fmt.Sprintf("%s: changed on the way through Rust:\n  sent %+v\n  got  %+v",
					name, original.Interface(), decoded.Elem().Interface()))
			}
		default:
			fail("unknown mode " + os.Args[1])
		}
	}
	if len(problems) > 0 {
		fail(strings.Join(problems, "\n"))
	}
}

// index maps `package.Name` and `Z_<Method>Args`/`Returns` to their types.
func index() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		if seen[t] {
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			walk(t.Elem())
		case reflect.Map:
			walk(t.Key())
			walk(t.Elem())
		case reflect.Struct:
			if name, ok := localName(t); ok {
				out[name] = t
			}
			for i := 0; i < t.NumField(); i++ {
				walk(t.Field(i).Type)
			}
		}
	}
	for _, iface := range []reflect.Type{
		reflect.TypeOf((*plugin.API)(nil)).Elem(),
		reflect.TypeOf((*plugin.Hooks)(nil)).Elem(),
	} {
		for i := 0; i < iface.NumMethod(); i++ {
			m := iface.Method(i).Type
			for j := 0; j < m.NumIn(); j++ {
				walk(m.In(j))
			}
			for j := 0; j < m.NumOut(); j++ {
				walk(m.Out(j))
			}
		}
	}
	for name, value := range ztypes.Types {
		t := reflect.TypeOf(value)
		walk(t)
		out[name] = t
	}
	return out
}

func localName(t reflect.Type) (string, bool) {
	pkg := t.PkgPath()
	if t.Name() == "" || !strings.HasPrefix(pkg, modulePath) {
		return "", false
	}
	return pkg[strings.LastIndex(pkg, "/")+1:] + "." + t.Name(), true
}

// populate makes a value of t with every field the Rust side carries set to something other
// than its zero value (gob leaves zero values out, so they would prove nothing), to a depth of 3.
func populate(t reflect.Type, depth int) reflect.Value {
	v := reflect.New(t).Elem()
	if depth > 3 {
		return v
	}
	switch {
	case t == timeType:
		v.Set(reflect.ValueOf(time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)))
		return v
	case t == rawJSON:
		v.SetBytes([]byte(`{"k":1}`))
		return v
	case t == duration:
		v.SetInt(int64(1500 * time.Millisecond))
		return v
	case t == samlInfo:
		v.Set(reflect.ValueOf(sampleAssertion()))
		return v
	case t == errType:
		// Mattermost's carrier for errors over net/rpc (registered by the plugin package).
		v.Set(reflect.ValueOf(&plugin.ErrorString{Code: 7, Err: "s"}))
		return v
	}
	if t.PkgPath() != "" && !strings.HasPrefix(t.PkgPath(), modulePath) && t.Kind() == reflect.Struct {
		return v // other libraries' structs: not carried generically
	}
	switch t.Kind() {
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte{1, 2})
		} else if e := populate(t.Elem(), depth+1); !e.IsZero() {
			v.Set(reflect.Append(v, e))
		}
	case reflect.Map:
		k, e := populate(t.Key(), depth+1), populate(t.Elem(), depth+1)
		if !k.IsZero() && !e.IsZero() {
			v.Set(reflect.MakeMap(t))
			v.SetMapIndex(k, e)
		}
	case reflect.Pointer:
		if e := populate(t.Elem(), depth+1); !e.IsZero() {
			p := reflect.New(t.Elem())
			p.Elem().Set(e)
			v.Set(p)
		}
	case reflect.Interface:
		if t.NumMethod() == 0 {
			v.Set(reflect.ValueOf("any"))
		}
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.IsExported() && f.Type.Kind() != reflect.Func && f.Type.Kind() != reflect.Chan {
				v.Field(i).Set(populate(f.Type, depth+1))
			}
		}
	}
	return v
}

func check(err error) {
	if err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}
