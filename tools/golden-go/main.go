// Copyright The twill Authors
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// golden-go prints a CNI result converted to another spec version by Go's libcni, so that
// twill's result goldens can be generated and re-proved from the reference implementation.
//
//	golden-go [-assume VERSION] INPUT.json TARGET_VERSION
//
// The converted result is printed exactly as a Go plugin prints it (types.Result.PrintTo),
// followed by a newline. A conversion error is printed to stdout as "error: MESSAGE" with exit
// status 2, so that expected failures can be goldens too; any other failure exits 1.
//
// libcni 1.1.2 (Debian's) predates spec 1.1.0, whose result shape is 1.0.0's plus optional
// fields. A 1.1.0 input is therefore read as 1.0.0 (the 1.1-only fields are dropped, and the
// caller must account for that), and a 1.1.0 target is produced as 1.0.0 and relabelled.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"os"

	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/types/create"
)

const (
	spec11 = "1.1.0"
	spec10 = "1.0.0"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "golden-go: "+format+"\n", args...)
	os.Exit(1)
}

// setVersion rewrites the top-level cniVersion of a JSON object, leaving everything else as is.
func setVersion(data []byte, version string) []byte {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		fail("input is not a JSON object: %v", err)
	}
	for k := range obj {
		// Go matches keys case-insensitively; drop every spelling so only ours is seen.
		if len(k) == len("cniVersion") && equalFold(k, "cniVersion") {
			delete(obj, k)
		}
	}
	quoted, _ := json.Marshal(version)
	obj["cniVersion"] = quoted
	out, err := json.Marshal(obj)
	if err != nil {
		fail("re-encoding input: %v", err)
	}
	return out
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func main() {
	assume := flag.String("assume", "", "version of an input that has no cniVersion")
	flag.Parse()
	if flag.NArg() != 2 {
		fail("usage: golden-go [-assume VERSION] INPUT.json TARGET_VERSION")
	}
	data, err := ioutil.ReadFile(flag.Arg(0))
	if err != nil {
		fail("%v", err)
	}
	target := flag.Arg(1)

	version, err := create.DecodeVersion(data)
	if err != nil {
		fail("%v", err)
	}
	var probe struct {
		CNIVersion string `json:"cniVersion"`
	}
	_ = json.Unmarshal(data, &probe)
	if probe.CNIVersion == "" && *assume != "" {
		// What a runtime does with a plugin's result that names no version: take the config's.
		version = *assume
		data = setVersion(data, version)
	}
	if version == spec11 {
		version = spec10
		data = setVersion(data, version)
	}

	result, err := create.Create(version, data)
	if err != nil {
		fail("parsing input: %v", err)
	}

	goTarget := target
	if target == spec11 {
		goTarget = spec10
	}
	converted, err := result.GetAsVersion(goTarget)
	if err != nil {
		fmt.Printf("error: %v\n", err)
		os.Exit(2)
	}
	if target == spec11 {
		r, ok := converted.(*types100.Result)
		if !ok {
			fail("conversion to %s gave %T", spec10, converted)
		}
		r.CNIVersion = spec11
		converted = r
	}
	printResult(converted)
}

func printResult(r types.Result) {
	if err := r.PrintTo(os.Stdout); err != nil {
		fail("printing: %v", err)
	}
	fmt.Println()
}
