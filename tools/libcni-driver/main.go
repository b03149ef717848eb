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

// libcni-driver runs network-list operations through Go's libcni (Debian's 1.1.2), so that
// twill's runtime can be compared with the reference runtime on the same inputs, and caches
// written by one can be read and deleted by the other.
//
//	libcni-driver add   CONFDIR NETWORK CONTAINERID NETNS IFNAME
//	libcni-driver del   CONFDIR NETWORK CONTAINERID NETNS IFNAME
//	libcni-driver check CONFDIR NETWORK CONTAINERID NETNS IFNAME
//	libcni-driver gc    CONFDIR NETWORK [CONTAINERID/IFNAME ...]
//
// Environment: DRIVER_CNI_PATH (colon-separated plugin directories), DRIVER_CACHE_DIR (the
// cache directory), DRIVER_CAP_ARGS (capability arguments as a JSON object), DRIVER_CNI_ARGS
// (K=V;K2=V2). Names of their own, because libcni passes its whole environment on to plugins.
//
// add prints the result as JSON on stdout. Failures are printed on stderr, exit status 1.
//
// libcni 1.1.2 has no GC. gc does what later libcni releases do: every cached attachment of
// the network that is not listed as valid is deleted with DelNetworkList, using the cached
// CNI_ARGS, capability arguments and, when recorded, namespace.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containernetworking/cni/libcni"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: libcni-driver add|del|check|gc CONFDIR NETWORK ...")
	}
	cmd, confDir, network := args[0], args[1], args[2]
	list, err := libcni.LoadConfList(confDir, network)
	if err != nil {
		return err
	}
	cniPath := filepath.SplitList(os.Getenv("DRIVER_CNI_PATH"))
	cni := libcni.NewCNIConfigWithCacheDir(cniPath, os.Getenv("DRIVER_CACHE_DIR"), nil)
	ctx := context.Background()
	if cmd == "gc" {
		return gc(ctx, cni, list, args[3:])
	}
	if len(args) != 6 {
		return fmt.Errorf("usage: libcni-driver %s CONFDIR NETWORK CONTAINERID NETNS IFNAME", cmd)
	}
	rt, err := runtimeConf(args[3], args[4], args[5])
	if err != nil {
		return err
	}
	switch cmd {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(result)
	case "del":
		return cni.DelNetworkList(ctx, list, rt)
	case "check":
		return cni.CheckNetworkList(ctx, list, rt)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func runtimeConf(containerID, netns, ifName string) (*libcni.RuntimeConf, error) {
	rt := &libcni.RuntimeConf{ContainerID: containerID, NetNS: netns, IfName: ifName}
	if caps := os.Getenv("DRIVER_CAP_ARGS"); caps != "" {
		if err := json.Unmarshal([]byte(caps), &rt.CapabilityArgs); err != nil {
			return nil, fmt.Errorf("DRIVER_CAP_ARGS: %w", err)
		}
	}
	if pairs := os.Getenv("DRIVER_CNI_ARGS"); pairs != "" {
		for _, pair := range strings.Split(pairs, ";") {
			kv := strings.SplitN(pair, "=", 2)
			if len(kv) != 2 {
				return nil, fmt.Errorf("DRIVER_CNI_ARGS: %q is not K=V", pair)
			}
			rt.Args = append(rt.Args, [2]string{kv[0], kv[1]})
		}
	}
	return rt, nil
}

// cached is the part of a cache record gc needs.
type cached struct {
	Kind           string                 `json:"kind"`
	ContainerID    string                 `json:"containerId"`
	IfName         string                 `json:"ifName"`
	NetworkName    string                 `json:"networkName"`
	NetNS          string                 `json:"netns"`
	CniArgs        [][2]string            `json:"cniArgs"`
	CapabilityArgs map[string]interface{} `json:"capabilityArgs"`
}

func gc(ctx context.Context, cni *libcni.CNIConfig, list *libcni.NetworkConfigList, valid []string) error {
	keep := map[string]bool{}
	for _, v := range valid {
		keep[v] = true
	}
	dir := filepath.Join(os.Getenv("DRIVER_CACHE_DIR"), "results")
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	names := []string{}
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	var errs []string
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		var c cached
		if json.Unmarshal(data, &c) != nil || c.Kind != "cniCacheV1" || c.NetworkName != list.Name {
			continue
		}
		if keep[c.ContainerID+"/"+c.IfName] {
			continue
		}
		rt := &libcni.RuntimeConf{
			ContainerID: c.ContainerID, NetNS: c.NetNS, IfName: c.IfName,
			Args: c.CniArgs, CapabilityArgs: c.CapabilityArgs,
		}
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			errs = append(errs, fmt.Sprintf("failed to delete stale attachment %s %s: %v", c.ContainerID, c.IfName, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
