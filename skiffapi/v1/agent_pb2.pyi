from skiffapi.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JoinRequest(_message.Message):
    __slots__ = ("cluster", "name", "join_token", "csr_pem")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    JOIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    name: str
    join_token: str
    csr_pem: bytes
    def __init__(self, cluster: _Optional[str] = ..., name: _Optional[str] = ..., join_token: _Optional[str] = ..., csr_pem: _Optional[bytes] = ...) -> None: ...

class JoinResponse(_message.Message):
    __slots__ = ("instance_id", "certificate_pem", "ca_pem", "machines_endpoint")
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    CA_PEM_FIELD_NUMBER: _ClassVar[int]
    MACHINES_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    instance_id: str
    certificate_pem: bytes
    ca_pem: bytes
    machines_endpoint: str
    def __init__(self, instance_id: _Optional[str] = ..., certificate_pem: _Optional[bytes] = ..., ca_pem: _Optional[bytes] = ..., machines_endpoint: _Optional[str] = ...) -> None: ...

class RenewCertificateRequest(_message.Message):
    __slots__ = ("csr_pem",)
    CSR_PEM_FIELD_NUMBER: _ClassVar[int]
    csr_pem: bytes
    def __init__(self, csr_pem: _Optional[bytes] = ...) -> None: ...

class RenewCertificateResponse(_message.Message):
    __slots__ = ("certificate_pem",)
    CERTIFICATE_PEM_FIELD_NUMBER: _ClassVar[int]
    certificate_pem: bytes
    def __init__(self, certificate_pem: _Optional[bytes] = ...) -> None: ...

class StreamCommandsRequest(_message.Message):
    __slots__ = ("cluster", "instance_id")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    instance_id: str
    def __init__(self, cluster: _Optional[str] = ..., instance_id: _Optional[str] = ...) -> None: ...

class LogRequest(_message.Message):
    __slots__ = ("request_id", "task_id", "container_name", "follow", "since_ms", "tail")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_NAME_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    task_id: str
    container_name: str
    follow: bool
    since_ms: int
    tail: int
    def __init__(self, request_id: _Optional[str] = ..., task_id: _Optional[str] = ..., container_name: _Optional[str] = ..., follow: _Optional[bool] = ..., since_ms: _Optional[int] = ..., tail: _Optional[int] = ...) -> None: ...

class CancelLogs(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ...) -> None: ...

class AgentCommand(_message.Message):
    __slots__ = ("logs", "cancel_logs")
    LOGS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_LOGS_FIELD_NUMBER: _ClassVar[int]
    logs: LogRequest
    cancel_logs: CancelLogs
    def __init__(self, logs: _Optional[_Union[LogRequest, _Mapping]] = ..., cancel_logs: _Optional[_Union[CancelLogs, _Mapping]] = ...) -> None: ...

class LogChunk(_message.Message):
    __slots__ = ("request_id", "data", "error")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    data: bytes
    error: str
    def __init__(self, request_id: _Optional[str] = ..., data: _Optional[bytes] = ..., error: _Optional[str] = ...) -> None: ...

class PushLogsResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RegisterContainerInstanceRequest(_message.Message):
    __slots__ = ("cluster", "instance_id", "name", "total_resources", "attributes", "agent_version")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TOTAL_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    instance_id: str
    name: str
    total_resources: _containers.RepeatedCompositeFieldContainer[_types_pb2.Resource]
    attributes: _containers.RepeatedCompositeFieldContainer[_types_pb2.Attribute]
    agent_version: str
    def __init__(self, cluster: _Optional[str] = ..., instance_id: _Optional[str] = ..., name: _Optional[str] = ..., total_resources: _Optional[_Iterable[_Union[_types_pb2.Resource, _Mapping]]] = ..., attributes: _Optional[_Iterable[_Union[_types_pb2.Attribute, _Mapping]]] = ..., agent_version: _Optional[str] = ...) -> None: ...

class RegisterContainerInstanceResponse(_message.Message):
    __slots__ = ("container_instance",)
    CONTAINER_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    container_instance: _types_pb2.ContainerInstance
    def __init__(self, container_instance: _Optional[_Union[_types_pb2.ContainerInstance, _Mapping]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("cluster", "instance_id")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    instance_id: str
    def __init__(self, cluster: _Optional[str] = ..., instance_id: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamAssignmentsRequest(_message.Message):
    __slots__ = ("cluster", "instance_id")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    instance_id: str
    def __init__(self, cluster: _Optional[str] = ..., instance_id: _Optional[str] = ...) -> None: ...

class ContainerAssignment(_message.Message):
    __slots__ = ("name", "image", "cpu", "memory", "memory_reservation", "essential", "command", "entry_point", "environment", "port_mappings", "working_directory", "docker_labels", "init_process_enabled", "health_check", "depends_on", "stop_timeout", "restart_policy", "secrets", "repository_credentials")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_RESERVATION_FIELD_NUMBER: _ClassVar[int]
    ESSENTIAL_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_FIELD_NUMBER: _ClassVar[int]
    PORT_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    WORKING_DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    DOCKER_LABELS_FIELD_NUMBER: _ClassVar[int]
    INIT_PROCESS_ENABLED_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    STOP_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    RESTART_POLICY_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    REPOSITORY_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    name: str
    image: str
    cpu: int
    memory: int
    memory_reservation: int
    essential: bool
    command: _containers.RepeatedScalarFieldContainer[str]
    entry_point: _containers.RepeatedScalarFieldContainer[str]
    environment: _containers.RepeatedCompositeFieldContainer[_types_pb2.KeyValuePair]
    port_mappings: _containers.RepeatedCompositeFieldContainer[_types_pb2.PortMapping]
    working_directory: str
    docker_labels: _containers.RepeatedCompositeFieldContainer[_types_pb2.KeyValuePair]
    init_process_enabled: bool
    health_check: _types_pb2.HealthCheck
    depends_on: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerDependency]
    stop_timeout: int
    restart_policy: _types_pb2.ContainerRestartPolicy
    secrets: _containers.RepeatedCompositeFieldContainer[_types_pb2.KeyValuePair]
    repository_credentials: RegistryLogin
    def __init__(self, name: _Optional[str] = ..., image: _Optional[str] = ..., cpu: _Optional[int] = ..., memory: _Optional[int] = ..., memory_reservation: _Optional[int] = ..., essential: _Optional[bool] = ..., command: _Optional[_Iterable[str]] = ..., entry_point: _Optional[_Iterable[str]] = ..., environment: _Optional[_Iterable[_Union[_types_pb2.KeyValuePair, _Mapping]]] = ..., port_mappings: _Optional[_Iterable[_Union[_types_pb2.PortMapping, _Mapping]]] = ..., working_directory: _Optional[str] = ..., docker_labels: _Optional[_Iterable[_Union[_types_pb2.KeyValuePair, _Mapping]]] = ..., init_process_enabled: _Optional[bool] = ..., health_check: _Optional[_Union[_types_pb2.HealthCheck, _Mapping]] = ..., depends_on: _Optional[_Iterable[_Union[_types_pb2.ContainerDependency, _Mapping]]] = ..., stop_timeout: _Optional[int] = ..., restart_policy: _Optional[_Union[_types_pb2.ContainerRestartPolicy, _Mapping]] = ..., secrets: _Optional[_Iterable[_Union[_types_pb2.KeyValuePair, _Mapping]]] = ..., repository_credentials: _Optional[_Union[RegistryLogin, _Mapping]] = ...) -> None: ...

class RegistryLogin(_message.Message):
    __slots__ = ("username", "password")
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    username: str
    password: str
    def __init__(self, username: _Optional[str] = ..., password: _Optional[str] = ...) -> None: ...

class TaskAssignment(_message.Message):
    __slots__ = ("task_id", "task_arn", "desired_status", "network_mode", "containers", "last_status")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_ARN_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATUS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_MODE_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    task_arn: str
    desired_status: _types_pb2.TaskStatus
    network_mode: str
    containers: _containers.RepeatedCompositeFieldContainer[ContainerAssignment]
    last_status: _types_pb2.TaskStatus
    def __init__(self, task_id: _Optional[str] = ..., task_arn: _Optional[str] = ..., desired_status: _Optional[_Union[_types_pb2.TaskStatus, str]] = ..., network_mode: _Optional[str] = ..., containers: _Optional[_Iterable[_Union[ContainerAssignment, _Mapping]]] = ..., last_status: _Optional[_Union[_types_pb2.TaskStatus, str]] = ...) -> None: ...

class Assignments(_message.Message):
    __slots__ = ("tasks", "revision", "epoch")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[TaskAssignment]
    revision: int
    epoch: int
    def __init__(self, tasks: _Optional[_Iterable[_Union[TaskAssignment, _Mapping]]] = ..., revision: _Optional[int] = ..., epoch: _Optional[int] = ...) -> None: ...

class ContainerReport(_message.Message):
    __slots__ = ("name", "status", "exit_code", "reason", "network_bindings", "runtime_id", "health_status", "restart_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NETWORK_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    HEALTH_STATUS_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: _types_pb2.TaskStatus
    exit_code: int
    reason: str
    network_bindings: _containers.RepeatedCompositeFieldContainer[_types_pb2.NetworkBinding]
    runtime_id: str
    health_status: _types_pb2.HealthStatus
    restart_count: int
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.TaskStatus, str]] = ..., exit_code: _Optional[int] = ..., reason: _Optional[str] = ..., network_bindings: _Optional[_Iterable[_Union[_types_pb2.NetworkBinding, _Mapping]]] = ..., runtime_id: _Optional[str] = ..., health_status: _Optional[_Union[_types_pb2.HealthStatus, str]] = ..., restart_count: _Optional[int] = ...) -> None: ...

class TaskStateReport(_message.Message):
    __slots__ = ("task_id", "status", "containers", "stop_code", "stopped_reason", "health_status")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    STOP_CODE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_REASON_FIELD_NUMBER: _ClassVar[int]
    HEALTH_STATUS_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    status: _types_pb2.TaskStatus
    containers: _containers.RepeatedCompositeFieldContainer[ContainerReport]
    stop_code: str
    stopped_reason: str
    health_status: _types_pb2.HealthStatus
    def __init__(self, task_id: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.TaskStatus, str]] = ..., containers: _Optional[_Iterable[_Union[ContainerReport, _Mapping]]] = ..., stop_code: _Optional[str] = ..., stopped_reason: _Optional[str] = ..., health_status: _Optional[_Union[_types_pb2.HealthStatus, str]] = ...) -> None: ...

class ReportTaskStatesRequest(_message.Message):
    __slots__ = ("cluster", "instance_id", "reports")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    instance_id: str
    reports: _containers.RepeatedCompositeFieldContainer[TaskStateReport]
    def __init__(self, cluster: _Optional[str] = ..., instance_id: _Optional[str] = ..., reports: _Optional[_Iterable[_Union[TaskStateReport, _Mapping]]] = ...) -> None: ...

class ReportTaskStatesResponse(_message.Message):
    __slots__ = ("failures",)
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...

class GetRegistryCredentialsRequest(_message.Message):
    __slots__ = ("cluster", "instance_id", "image")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    instance_id: str
    image: str
    def __init__(self, cluster: _Optional[str] = ..., instance_id: _Optional[str] = ..., image: _Optional[str] = ...) -> None: ...

class GetRegistryCredentialsResponse(_message.Message):
    __slots__ = ("registry", "token", "expires_at_ms")
    REGISTRY_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    registry: str
    token: str
    expires_at_ms: int
    def __init__(self, registry: _Optional[str] = ..., token: _Optional[str] = ..., expires_at_ms: _Optional[int] = ...) -> None: ...
