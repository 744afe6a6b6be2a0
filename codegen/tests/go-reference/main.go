// Command goreference prints the differential projection described in PROJECTION.md for a
// directory laid out like Mattermost's server/public module, using only go/parser and go/ast.
//
// Usage: go run . <dir>
package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

var predeclared = map[string]bool{
	"bool": true, "string": true, "int": true, "int8": true, "int16": true, "int32": true,
	"int64": true, "uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true,
	"uintptr": true, "float32": true, "float64": true, "complex64": true, "complex128": true,
	"byte": true, "rune": true, "error": true, "any": true, "comparable": true,
}

var fset = token.NewFileSet()

// fileCtx is what rendering needs to know about the file an expression comes from.
type fileCtx struct {
	pkg   string
	src   []byte
	local map[string]string // import name -> "model" / "plugin" for this module's own packages
}

type typeDecl struct {
	spec *ast.TypeSpec
	file *fileCtx
}

// constEntry is one package-level constant after implicit repetition has been applied.
type constEntry struct {
	name  string
	typ   ast.Expr
	value ast.Expr
}

type pkgInfo struct {
	types  map[string]*typeDecl
	consts []constEntry
}

func fatalf(pos token.Pos, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if pos.IsValid() {
		msg = fset.Position(pos).String() + ": " + msg
	}
	fmt.Fprintln(os.Stderr, "goreference:", msg)
	os.Exit(1)
}

func loadPackage(dir, name string) *pkgInfo {
	paths, err := filepath.Glob(filepath.Join(dir, name, "*.go"))
	if err != nil || len(paths) == 0 {
		fatalf(token.NoPos, "no Go files in %s", filepath.Join(dir, name))
	}
	sort.Strings(paths) // source order across files = file name order
	p := &pkgInfo{types: map[string]*typeDecl{}}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			fatalf(token.NoPos, "%v", err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		if err != nil {
			fatalf(token.NoPos, "%v", err)
		}
		if f.Name.Name != name {
			fatalf(f.Name.Pos(), "package %s, expected %s", f.Name.Name, name)
		}
		fc := &fileCtx{pkg: name, src: src, local: map[string]string{}}
		for _, imp := range f.Imports {
			ipath, _ := strconv.Unquote(imp.Path.Value)
			for _, lp := range []string{"model", "plugin"} {
				if strings.HasSuffix(ipath, "/server/public/"+lp) {
					qual := lp
					if imp.Name != nil {
						qual = imp.Name.Name
					}
					fc.local[qual] = lp
				}
			}
		}
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			switch gd.Tok {
			case token.TYPE:
				for _, s := range gd.Specs {
					ts := s.(*ast.TypeSpec)
					if prev, dup := p.types[ts.Name.Name]; dup {
						fatalf(ts.Pos(), "duplicate type %s.%s (first at %s)", name, ts.Name.Name,
							fset.Position(prev.spec.Pos()))
					}
					p.types[ts.Name.Name] = &typeDecl{spec: ts, file: fc}
				}
			case token.CONST:
				// An entry without type and values repeats the last entry that had values.
				var lastType ast.Expr
				var lastValues []ast.Expr
				for _, s := range gd.Specs {
					vs := s.(*ast.ValueSpec)
					if len(vs.Values) > 0 {
						lastType, lastValues = vs.Type, vs.Values
					} else if vs.Type != nil {
						lastType, lastValues = vs.Type, nil
					}
					for i, n := range vs.Names {
						var v ast.Expr
						if i < len(lastValues) {
							v = lastValues[i]
						}
						p.consts = append(p.consts, constEntry{name: n.Name, typ: lastType, value: v})
					}
				}
			}
		}
	}
	return p
}

// scope is the context one type expression is rendered in.
type scope struct {
	file    *fileCtx
	tparams map[string]bool
	owner   string // qualified name of the struct whose field is being rendered
	field   string // that field's Go name; inline structs are named owner.field
}

type pending struct {
	key    string
	decl   *typeDecl       // a package-level declaration, or
	inline *ast.StructType // an inline struct type
	sc     scope           // scope of the inline struct's owner
}

type projector struct {
	pkgs      map[string]*pkgInfo
	types     map[string]map[string]any
	seen      map[string]bool
	queue     []pending
	externals map[string]bool
}

func (p *projector) reach(pkg, name string, pos token.Pos) string {
	key := pkg + "." + name
	if p.seen[key] {
		return key
	}
	d := p.pkgs[pkg].types[name]
	if d == nil {
		fatalf(pos, "%s is not a type declared in package %s", key, pkg)
	}
	p.seen[key] = true
	p.queue = append(p.queue, pending{key: key, decl: d})
	return key
}

func srcText(fc *fileCtx, e ast.Expr) string {
	return string(fc.src[fset.Position(e.Pos()).Offset:fset.Position(e.End()).Offset])
}

// render returns the type string of e; with collect set it also adds every type reached to
// the closure (constraints are rendered without collecting).
func (p *projector) render(e ast.Expr, sc scope, collect bool) string {
	switch t := e.(type) {
	case *ast.Ident:
		if predeclared[t.Name] || sc.tparams[t.Name] {
			return t.Name
		}
		if collect {
			return p.reach(sc.file.pkg, t.Name, t.Pos())
		}
		return sc.file.pkg + "." + t.Name
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		if !ok {
			fatalf(t.Pos(), "unsupported qualified type")
		}
		if lp, ok := sc.file.local[x.Name]; ok {
			if collect {
				return p.reach(lp, t.Sel.Name, t.Pos())
			}
			return lp + "." + t.Sel.Name
		}
		s := x.Name + "." + t.Sel.Name
		if collect {
			p.externals[s] = true
		}
		return s
	case *ast.StarExpr:
		return "*" + p.render(t.X, sc, collect)
	case *ast.ParenExpr:
		return p.render(t.X, sc, collect)
	case *ast.ArrayType:
		if t.Len == nil {
			return "[]" + p.render(t.Elt, sc, collect)
		}
		return "[" + srcText(sc.file, t.Len) + "]" + p.render(t.Elt, sc, collect)
	case *ast.MapType:
		return "map[" + p.render(t.Key, sc, collect) + "]" + p.render(t.Value, sc, collect)
	case *ast.ChanType:
		prefix := "chan "
		switch t.Dir {
		case ast.SEND:
			prefix = "chan<- "
		case ast.RECV:
			prefix = "<-chan "
		}
		return prefix + p.render(t.Value, sc, collect)
	case *ast.FuncType:
		return "func" // signatures are not projected, so not walked either
	case *ast.InterfaceType:
		if t.Methods == nil || len(t.Methods.List) == 0 {
			return "any"
		}
		return "interface{...}"
	case *ast.StructType:
		if sc.owner == "" || sc.field == "" {
			fatalf(t.Pos(), "inline struct type outside a struct field")
		}
		key := sc.owner + "." + sc.field
		if collect && !p.seen[key] {
			p.seen[key] = true
			p.queue = append(p.queue, pending{key: key, inline: t, sc: sc})
		}
		return key
	case *ast.IndexExpr:
		return p.render(t.X, sc, collect) + "[" + p.render(t.Index, sc, collect) + "]"
	case *ast.IndexListExpr:
		args := make([]string, len(t.Indices))
		for i, a := range t.Indices {
			args[i] = p.render(a, sc, collect)
		}
		return p.render(t.X, sc, collect) + "[" + strings.Join(args, ", ") + "]"
	case *ast.UnaryExpr: // ~T in a constraint
		return t.Op.String() + p.render(t.X, sc, collect)
	case *ast.BinaryExpr: // A | B in a constraint
		return p.render(t.X, sc, collect) + " " + t.Op.String() + " " + p.render(t.Y, sc, collect)
	}
	fatalf(e.Pos(), "unsupported type expression %T", e)
	return ""
}

type param struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Variadic bool   `json:"variadic"`
}

type result struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type method struct {
	Name    string   `json:"name"`
	Params  []param  `json:"params"`
	Results []result `json:"results"`
}

// Struct fields are declared in key order so the output keys come out sorted.
type field struct {
	Embedded  bool   `json:"embedded"`
	JSON      string `json:"json"`
	Name      string `json:"name"`
	Omitempty bool   `json:"omitempty"`
	Skip      bool   `json:"skip"`
	Type      string `json:"type"`
}

type skipped struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

type enumValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

func (p *projector) service(name string) []method {
	d := p.pkgs["plugin"].types[name]
	if d == nil {
		fatalf(token.NoPos, "interface plugin.%s not found", name)
	}
	it, ok := d.spec.Type.(*ast.InterfaceType)
	if !ok {
		fatalf(d.spec.Pos(), "plugin.%s is not an interface", name)
	}
	sc := scope{file: d.file}
	methods := []method{}
	for _, m := range it.Methods.List {
		ft, ok := m.Type.(*ast.FuncType)
		if len(m.Names) != 1 || !ok {
			fatalf(m.Pos(), "plugin.%s: embedded interfaces are not supported", name)
		}
		out := method{Name: m.Names[0].Name, Params: []param{}, Results: []result{}}
		for _, f := range ft.Params.List {
			typ, variadic := f.Type, false
			if el, ok := typ.(*ast.Ellipsis); ok {
				typ, variadic = el.Elt, true
			}
			s := p.render(typ, sc, true)
			if variadic {
				s = "[]" + s
			}
			for _, n := range namesOf(f) {
				out.Params = append(out.Params, param{Name: n, Type: s, Variadic: variadic})
			}
		}
		if ft.Results != nil {
			for _, f := range ft.Results.List {
				s := p.render(f.Type, sc, true)
				for _, n := range namesOf(f) {
					out.Results = append(out.Results, result{Name: n, Type: s})
				}
			}
		}
		methods = append(methods, out)
	}
	return methods
}

// namesOf expands grouped names; an unnamed parameter or result has the name "".
func namesOf(f *ast.Field) []string {
	if len(f.Names) == 0 {
		return []string{""}
	}
	out := make([]string, len(f.Names))
	for i, n := range f.Names {
		out[i] = n.Name
	}
	return out
}

// embeddedName is the field name Go gives an embedded field.
func embeddedName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.ParenExpr:
		return embeddedName(t.X)
	case *ast.IndexExpr:
		return embeddedName(t.X)
	case *ast.IndexListExpr:
		return embeddedName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	}
	fatalf(e.Pos(), "unsupported embedded field type %T", e)
	return ""
}

func skipReason(name string, typ ast.Expr) string {
	if !token.IsExported(name) {
		return "unexported"
	}
	if star, ok := typ.(*ast.StarExpr); ok {
		if _, ok := star.X.(*ast.FuncType); ok {
			return "func"
		}
	}
	switch typ.(type) {
	case *ast.FuncType:
		return "func"
	case *ast.ChanType:
		return "chan"
	}
	return ""
}

func (p *projector) structEntry(key string, st *ast.StructType, sc scope) map[string]any {
	fields, skips := []field{}, []skipped{}
	for _, f := range st.Fields.List {
		var tagJSON string
		hasTag := false
		if f.Tag != nil {
			raw, err := strconv.Unquote(f.Tag.Value)
			if err != nil {
				fatalf(f.Tag.Pos(), "bad struct tag")
			}
			tagJSON, hasTag = reflect.StructTag(raw).Lookup("json")
		}
		embedded := len(f.Names) == 0
		names := []string{}
		if embedded {
			names = append(names, embeddedName(f.Type))
		} else {
			for _, n := range f.Names {
				names = append(names, n.Name)
			}
		}
		opts := strings.Split(tagJSON, ",")
		omitempty := false
		for _, o := range opts[1:] {
			omitempty = omitempty || o == "omitempty"
		}
		for _, name := range names {
			if r := skipReason(name, f.Type); r != "" {
				skips = append(skips, skipped{Name: name, Reason: r})
				continue
			}
			fsc := scope{file: sc.file, tparams: sc.tparams, owner: key, field: name}
			jsonName := opts[0]
			if jsonName == "" && !embedded {
				jsonName = name
			}
			fields = append(fields, field{
				Embedded:  embedded,
				JSON:      jsonName,
				Name:      name,
				Omitempty: omitempty,
				Skip:      hasTag && tagJSON == "-",
				Type:      p.render(f.Type, fsc, true),
			})
		}
	}
	return map[string]any{"kind": "struct", "type_params": []string{}, "fields": fields, "skipped": skips}
}

func (p *projector) declEntry(key string, d *typeDecl) map[string]any {
	ts := d.spec
	sc := scope{file: d.file, tparams: map[string]bool{}, owner: key}
	tparams := []string{}
	if ts.TypeParams != nil {
		for _, f := range ts.TypeParams.List {
			for _, n := range f.Names {
				sc.tparams[n.Name] = true
			}
		}
		for _, f := range ts.TypeParams.List {
			c := p.render(f.Type, sc, false)
			for _, n := range f.Names {
				tparams = append(tparams, n.Name+" "+c)
			}
		}
	}
	if ts.Assign.IsValid() {
		return map[string]any{"kind": "alias", "type_params": tparams,
			"underlying": p.render(ts.Type, sc, true)}
	}
	switch t := ts.Type.(type) {
	case *ast.StructType:
		e := p.structEntry(key, t, sc)
		e["type_params"] = tparams
		return e
	case *ast.InterfaceType:
		return map[string]any{"kind": "interface", "type_params": tparams}
	}
	enum := []enumValue{}
	for _, c := range p.pkgs[d.file.pkg].consts {
		id, ok := c.typ.(*ast.Ident)
		lit, isLit := c.value.(*ast.BasicLit)
		if !ok || id.Name != ts.Name.Name || !isLit || lit.Kind != token.STRING {
			continue
		}
		v, err := strconv.Unquote(lit.Value)
		if err != nil {
			fatalf(lit.Pos(), "bad string literal")
		}
		enum = append(enum, enumValue{Name: c.name, Value: v})
	}
	return map[string]any{"kind": "named", "type_params": tparams,
		"underlying": p.render(ts.Type, sc, true), "enum": enum}
}

func hookIDs(plugin *pkgInfo) map[string]int64 {
	ids := map[string]int64{}
	for _, c := range plugin.consts {
		lit, ok := c.value.(*ast.BasicLit)
		if !strings.HasSuffix(c.name, "ID") || !ok || lit.Kind != token.INT {
			continue
		}
		v, err := strconv.ParseInt(lit.Value, 0, 64)
		if err != nil {
			fatalf(lit.Pos(), "bad integer literal %s", lit.Value)
		}
		ids[strings.TrimSuffix(c.name, "ID")] = v
	}
	return ids
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run . <dir with plugin/ and model/>")
		os.Exit(2)
	}
	dir := os.Args[1]
	p := &projector{
		pkgs:      map[string]*pkgInfo{"plugin": loadPackage(dir, "plugin"), "model": loadPackage(dir, "model")},
		types:     map[string]map[string]any{},
		seen:      map[string]bool{},
		externals: map[string]bool{},
	}
	services := map[string][]method{"API": p.service("API"), "Hooks": p.service("Hooks")}
	for len(p.queue) > 0 {
		next := p.queue[0]
		p.queue = p.queue[1:]
		if next.decl != nil {
			p.types[next.key] = p.declEntry(next.key, next.decl)
		} else {
			p.types[next.key] = p.structEntry(next.key, next.inline, next.sc)
		}
	}
	externals := []string{}
	for s := range p.externals {
		externals = append(externals, s)
	}
	sort.Strings(externals)

	out := map[string]any{
		"services":  services,
		"hook_ids":  hookIDs(p.pkgs["plugin"]),
		"types":     p.types,
		"externals": externals,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false) // keep "<-chan" readable; the JSON value is the same either way
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fatalf(token.NoPos, "%v", err)
	}
}
