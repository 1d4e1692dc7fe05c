from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATUS_UNSPECIFIED: _ClassVar[TaskStatus]
    TASK_STATUS_PROVISIONING: _ClassVar[TaskStatus]
    TASK_STATUS_PENDING: _ClassVar[TaskStatus]
    TASK_STATUS_ACTIVATING: _ClassVar[TaskStatus]
    TASK_STATUS_RUNNING: _ClassVar[TaskStatus]
    TASK_STATUS_DEACTIVATING: _ClassVar[TaskStatus]
    TASK_STATUS_STOPPING: _ClassVar[TaskStatus]
    TASK_STATUS_DEPROVISIONING: _ClassVar[TaskStatus]
    TASK_STATUS_STOPPED: _ClassVar[TaskStatus]

class HealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HEALTH_STATUS_UNKNOWN: _ClassVar[HealthStatus]
    HEALTH_STATUS_HEALTHY: _ClassVar[HealthStatus]
    HEALTH_STATUS_UNHEALTHY: _ClassVar[HealthStatus]
TASK_STATUS_UNSPECIFIED: TaskStatus
TASK_STATUS_PROVISIONING: TaskStatus
TASK_STATUS_PENDING: TaskStatus
TASK_STATUS_ACTIVATING: TaskStatus
TASK_STATUS_RUNNING: TaskStatus
TASK_STATUS_DEACTIVATING: TaskStatus
TASK_STATUS_STOPPING: TaskStatus
TASK_STATUS_DEPROVISIONING: TaskStatus
TASK_STATUS_STOPPED: TaskStatus
HEALTH_STATUS_UNKNOWN: HealthStatus
HEALTH_STATUS_HEALTHY: HealthStatus
HEALTH_STATUS_UNHEALTHY: HealthStatus

class HealthCheck(_message.Message):
    __slots__ = ("command", "interval", "timeout", "retries", "start_period")
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    START_PERIOD_FIELD_NUMBER: _ClassVar[int]
    command: _containers.RepeatedScalarFieldContainer[str]
    interval: int
    timeout: int
    retries: int
    start_period: int
    def __init__(self, command: _Optional[_Iterable[str]] = ..., interval: _Optional[int] = ..., timeout: _Optional[int] = ..., retries: _Optional[int] = ..., start_period: _Optional[int] = ...) -> None: ...

class ContainerDependency(_message.Message):
    __slots__ = ("container_name", "condition")
    CONTAINER_NAME_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    container_name: str
    condition: str
    def __init__(self, container_name: _Optional[str] = ..., condition: _Optional[str] = ...) -> None: ...

class ContainerRestartPolicy(_message.Message):
    __slots__ = ("enabled", "ignored_exit_codes", "restart_attempt_period")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    IGNORED_EXIT_CODES_FIELD_NUMBER: _ClassVar[int]
    RESTART_ATTEMPT_PERIOD_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    ignored_exit_codes: _containers.RepeatedScalarFieldContainer[int]
    restart_attempt_period: int
    def __init__(self, enabled: _Optional[bool] = ..., ignored_exit_codes: _Optional[_Iterable[int]] = ..., restart_attempt_period: _Optional[int] = ...) -> None: ...

class KeyValuePair(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class PortMapping(_message.Message):
    __slots__ = ("container_port", "host_port", "protocol")
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    container_port: int
    host_port: int
    protocol: str
    def __init__(self, container_port: _Optional[int] = ..., host_port: _Optional[int] = ..., protocol: _Optional[str] = ...) -> None: ...

class NetworkBinding(_message.Message):
    __slots__ = ("bind_ip", "container_port", "host_port", "protocol")
    BIND_IP_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_PORT_FIELD_NUMBER: _ClassVar[int]
    HOST_PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    bind_ip: str
    container_port: int
    host_port: int
    protocol: str
    def __init__(self, bind_ip: _Optional[str] = ..., container_port: _Optional[int] = ..., host_port: _Optional[int] = ..., protocol: _Optional[str] = ...) -> None: ...

class Container(_message.Message):
    __slots__ = ("container_arn", "name", "image", "runtime_id", "last_status", "exit_code", "reason", "network_bindings", "essential", "cpu", "memory", "memory_reservation", "health_status", "restart_count")
    CONTAINER_ARN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NETWORK_BINDINGS_FIELD_NUMBER: _ClassVar[int]
    ESSENTIAL_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    MEMORY_RESERVATION_FIELD_NUMBER: _ClassVar[int]
    HEALTH_STATUS_FIELD_NUMBER: _ClassVar[int]
    RESTART_COUNT_FIELD_NUMBER: _ClassVar[int]
    container_arn: str
    name: str
    image: str
    runtime_id: str
    last_status: TaskStatus
    exit_code: int
    reason: str
    network_bindings: _containers.RepeatedCompositeFieldContainer[NetworkBinding]
    essential: bool
    cpu: int
    memory: int
    memory_reservation: int
    health_status: HealthStatus
    restart_count: int
    def __init__(self, container_arn: _Optional[str] = ..., name: _Optional[str] = ..., image: _Optional[str] = ..., runtime_id: _Optional[str] = ..., last_status: _Optional[_Union[TaskStatus, str]] = ..., exit_code: _Optional[int] = ..., reason: _Optional[str] = ..., network_bindings: _Optional[_Iterable[_Union[NetworkBinding, _Mapping]]] = ..., essential: _Optional[bool] = ..., cpu: _Optional[int] = ..., memory: _Optional[int] = ..., memory_reservation: _Optional[int] = ..., health_status: _Optional[_Union[HealthStatus, str]] = ..., restart_count: _Optional[int] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("task_arn", "task_id", "cluster", "cluster_arn", "task_definition_arn", "container_instance_id", "container_instance_arn", "last_status", "desired_status", "stop_code", "stopped_reason", "containers", "cpu", "memory", "group", "started_by", "launch_type", "created_at_ms", "started_at_ms", "stopping_at_ms", "stopped_at_ms", "version", "health_status")
    TASK_ARN_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ARN_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_ARN_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_INSTANCE_ARN_FIELD_NUMBER: _ClassVar[int]
    LAST_STATUS_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATUS_FIELD_NUMBER: _ClassVar[int]
    STOP_CODE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_REASON_FIELD_NUMBER: _ClassVar[int]
    CONTAINERS_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STARTED_BY_FIELD_NUMBER: _ClassVar[int]
    LAUNCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STOPPING_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    HEALTH_STATUS_FIELD_NUMBER: _ClassVar[int]
    task_arn: str
    task_id: str
    cluster: str
    cluster_arn: str
    task_definition_arn: str
    container_instance_id: str
    container_instance_arn: str
    last_status: TaskStatus
    desired_status: TaskStatus
    stop_code: str
    stopped_reason: str
    containers: _containers.RepeatedCompositeFieldContainer[Container]
    cpu: int
    memory: int
    group: str
    started_by: str
    launch_type: str
    created_at_ms: int
    started_at_ms: int
    stopping_at_ms: int
    stopped_at_ms: int
    version: int
    health_status: HealthStatus
    def __init__(self, task_arn: _Optional[str] = ..., task_id: _Optional[str] = ..., cluster: _Optional[str] = ..., cluster_arn: _Optional[str] = ..., task_definition_arn: _Optional[str] = ..., container_instance_id: _Optional[str] = ..., container_instance_arn: _Optional[str] = ..., last_status: _Optional[_Union[TaskStatus, str]] = ..., desired_status: _Optional[_Union[TaskStatus, str]] = ..., stop_code: _Optional[str] = ..., stopped_reason: _Optional[str] = ..., containers: _Optional[_Iterable[_Union[Container, _Mapping]]] = ..., cpu: _Optional[int] = ..., memory: _Optional[int] = ..., group: _Optional[str] = ..., started_by: _Optional[str] = ..., launch_type: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., started_at_ms: _Optional[int] = ..., stopping_at_ms: _Optional[int] = ..., stopped_at_ms: _Optional[int] = ..., version: _Optional[int] = ..., health_status: _Optional[_Union[HealthStatus, str]] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("arn", "reason", "detail")
    ARN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    arn: str
    reason: str
    detail: str
    def __init__(self, arn: _Optional[str] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ("name", "type", "integer_value", "string_set_value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    INTEGER_VALUE_FIELD_NUMBER: _ClassVar[int]
    STRING_SET_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    integer_value: int
    string_set_value: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., integer_value: _Optional[int] = ..., string_set_value: _Optional[_Iterable[str]] = ...) -> None: ...

class Attribute(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...

class ContainerInstance(_message.Message):
    __slots__ = ("container_instance_arn", "instance_id", "cluster", "name", "status", "agent_connected", "registered_resources", "remaining_resources", "running_tasks_count", "pending_tasks_count", "attributes", "agent_version", "registered_at_ms")
    CONTAINER_INSTANCE_ARN_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AGENT_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    REMAINING_RESOURCES_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASKS_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_TASKS_COUNT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    container_instance_arn: str
    instance_id: str
    cluster: str
    name: str
    status: str
    agent_connected: bool
    registered_resources: _containers.RepeatedCompositeFieldContainer[Resource]
    remaining_resources: _containers.RepeatedCompositeFieldContainer[Resource]
    running_tasks_count: int
    pending_tasks_count: int
    attributes: _containers.RepeatedCompositeFieldContainer[Attribute]
    agent_version: str
    registered_at_ms: int
    def __init__(self, container_instance_arn: _Optional[str] = ..., instance_id: _Optional[str] = ..., cluster: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., agent_connected: _Optional[bool] = ..., registered_resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., remaining_resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., running_tasks_count: _Optional[int] = ..., pending_tasks_count: _Optional[int] = ..., attributes: _Optional[_Iterable[_Union[Attribute, _Mapping]]] = ..., agent_version: _Optional[str] = ..., registered_at_ms: _Optional[int] = ...) -> None: ...
