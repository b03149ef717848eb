//! A CRI v1 client over containerd's unix socket: the calls a kubelet makes for a pod's
//! network, blocking (a private single-threaded tokio runtime per client), each with a
//! deadline that travels to containerd as gRPC's `grpc-timeout` — containerd kills a plugin
//! still running when it passes, as it does for a kubelet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use k8s_cri::v1::{
    ListPodSandboxRequest, NetworkConfig, PodSandbox, PodSandboxConfig, PodSandboxStatusRequest,
    PodSandboxStatusResponse, RemovePodSandboxRequest, RunPodSandboxRequest, RuntimeConfig,
    StatusRequest, StatusResponse, StopPodSandboxRequest, UpdateRuntimeConfigRequest,
};
use tonic::transport::{Channel, Endpoint, Uri};

/// The deadline of a call unless the test gives one: a kubelet's default is 2 minutes; the
/// tests want a failure well before that.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(60);

/// A connected client.
pub struct Cri {
    rt: tokio::runtime::Runtime,
    client: RuntimeServiceClient<Channel>,
}

impl std::fmt::Debug for Cri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cri")
    }
}

fn request<T>(msg: T, deadline: Duration) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(deadline);
    r
}

impl Cri {
    /// Connects to the socket at `path` (absolute).
    pub fn connect(path: &Path) -> Result<Cri, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let path: PathBuf = path.to_owned();
        let channel = rt.block_on(async move {
            // The URI is required by the API and unused: the connector dials the socket.
            Endpoint::try_from("http://[::]:50051")
                .map_err(|e| e.to_string())?
                .connect_with_connector(tower::service_fn(move |_: Uri| {
                    let path = path.clone();
                    async move {
                        Ok::<_, std::io::Error>(TokioIo::new(
                            tokio::net::UnixStream::connect(path).await?,
                        ))
                    }
                }))
                .await
                .map_err(|e| e.to_string())
        })?;
        Ok(Cri {
            rt,
            client: RuntimeServiceClient::new(channel),
        })
    }

    /// `Status`: the runtime's conditions (RuntimeReady, NetworkReady).
    pub fn status(&mut self) -> Result<StatusResponse, tonic::Status> {
        let c = &mut self.client;
        self.rt
            .block_on(c.status(request(StatusRequest { verbose: false }, DEFAULT_DEADLINE)))
            .map(tonic::Response::into_inner)
    }

    /// Whether condition `kind` (e.g. `NetworkReady`) holds, with its message.
    pub fn condition(&mut self, kind: &str) -> (bool, String) {
        let s = self.status().map_err(|e| e.to_string());
        match s {
            Ok(s) => s
                .status
                .and_then(|st| st.conditions.into_iter().find(|c| c.r#type == kind))
                .map(|c| (c.status, format!("{}: {}", c.reason, c.message)))
                .unwrap_or((false, "no such condition".into())),
            Err(e) => (false, e),
        }
    }

    /// `RunPodSandbox` with `deadline`; the sandbox id.
    pub fn run_pod_sandbox(
        &mut self,
        config: PodSandboxConfig,
        deadline: Duration,
    ) -> Result<String, tonic::Status> {
        let c = &mut self.client;
        let req = RunPodSandboxRequest {
            config: Some(config),
            runtime_handler: String::new(),
        };
        self.rt
            .block_on(c.run_pod_sandbox(request(req, deadline)))
            .map(|r| r.into_inner().pod_sandbox_id)
    }

    /// `PodSandboxStatus`, verbose (the `info` map holds the pause process' pid).
    pub fn pod_sandbox_status(
        &mut self,
        id: &str,
    ) -> Result<PodSandboxStatusResponse, tonic::Status> {
        let c = &mut self.client;
        let req = PodSandboxStatusRequest {
            pod_sandbox_id: id.to_owned(),
            verbose: true,
        };
        self.rt
            .block_on(c.pod_sandbox_status(request(req, DEFAULT_DEADLINE)))
            .map(tonic::Response::into_inner)
    }

    /// `StopPodSandbox` with `deadline`.
    pub fn stop_pod_sandbox_within(
        &mut self,
        id: &str,
        deadline: Duration,
    ) -> Result<(), tonic::Status> {
        let c = &mut self.client;
        let req = StopPodSandboxRequest {
            pod_sandbox_id: id.to_owned(),
        };
        self.rt
            .block_on(c.stop_pod_sandbox(request(req, deadline)))
            .map(|_| ())
    }

    /// `StopPodSandbox`.
    pub fn stop_pod_sandbox(&mut self, id: &str) -> Result<(), tonic::Status> {
        self.stop_pod_sandbox_within(id, DEFAULT_DEADLINE)
    }

    /// `RemovePodSandbox`.
    pub fn remove_pod_sandbox(&mut self, id: &str) -> Result<(), tonic::Status> {
        let c = &mut self.client;
        let req = RemovePodSandboxRequest {
            pod_sandbox_id: id.to_owned(),
        };
        self.rt
            .block_on(c.remove_pod_sandbox(request(req, DEFAULT_DEADLINE)))
            .map(|_| ())
    }

    /// `ListPodSandbox`, every sandbox.
    pub fn list_pod_sandbox(&mut self) -> Result<Vec<PodSandbox>, tonic::Status> {
        let c = &mut self.client;
        self.rt
            .block_on(c.list_pod_sandbox(request(
                ListPodSandboxRequest { filter: None },
                DEFAULT_DEADLINE,
            )))
            .map(|r| r.into_inner().items)
    }

    /// `UpdateRuntimeConfig` with the node's pod CIDR (what a kubelet sends once the node
    /// has one).
    pub fn update_pod_cidr(&mut self, pod_cidr: &str) -> Result<(), tonic::Status> {
        let c = &mut self.client;
        let req = UpdateRuntimeConfigRequest {
            runtime_config: Some(RuntimeConfig {
                network_config: Some(NetworkConfig {
                    pod_cidr: pod_cidr.to_owned(),
                }),
            }),
        };
        self.rt
            .block_on(c.update_runtime_config(request(req, DEFAULT_DEADLINE)))
            .map(|_| ())
    }
}
