from skiffapi.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Cluster(_message.Message):
    __slots__ = ("cluster_name", "cluster_arn", "status", "registered_container_instances_count", "running_tasks_count", "pending_tasks_count")
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ARN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_CONTAINER_INSTANCES_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_TASKS_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_TASKS_COUNT_FIELD_NUMBER: _ClassVar[int]
    cluster_name: str
    cluster_arn: str
    status: str
    registered_container_instances_count: int
    running_tasks_count: int
    pending_tasks_count: int
    def __init__(self, cluster_name: _Optional[str] = ..., cluster_arn: _Optional[str] = ..., status: _Optional[str] = ..., registered_container_instances_count: _Optional[int] = ..., running_tasks_count: _Optional[int] = ..., pending_tasks_count: _Optional[int] = ...) -> None: ...

class TaskDefinition(_message.Message):
    __slots__ = ("task_definition_arn", "family", "revision", "status", "document_json", "ignored_fields", "registered_at_ms", "deregistered_at_ms")
    TASK_DEFINITION_ARN_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    IGNORED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DEREGISTERED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    task_definition_arn: str
    family: str
    revision: int
    status: str
    document_json: str
    ignored_fields: _containers.RepeatedScalarFieldContainer[str]
    registered_at_ms: int
    deregistered_at_ms: int
    def __init__(self, task_definition_arn: _Optional[str] = ..., family: _Optional[str] = ..., revision: _Optional[int] = ..., status: _Optional[str] = ..., document_json: _Optional[str] = ..., ignored_fields: _Optional[_Iterable[str]] = ..., registered_at_ms: _Optional[int] = ..., deregistered_at_ms: _Optional[int] = ...) -> None: ...

class CreateClusterRequest(_message.Message):
    __slots__ = ("cluster_name",)
    CLUSTER_NAME_FIELD_NUMBER: _ClassVar[int]
    cluster_name: str
    def __init__(self, cluster_name: _Optional[str] = ...) -> None: ...

class CreateClusterResponse(_message.Message):
    __slots__ = ("cluster",)
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    cluster: Cluster
    def __init__(self, cluster: _Optional[_Union[Cluster, _Mapping]] = ...) -> None: ...

class ListClustersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListClustersResponse(_message.Message):
    __slots__ = ("cluster_arns",)
    CLUSTER_ARNS_FIELD_NUMBER: _ClassVar[int]
    cluster_arns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster_arns: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeClustersRequest(_message.Message):
    __slots__ = ("clusters",)
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, clusters: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeClustersResponse(_message.Message):
    __slots__ = ("clusters", "failures")
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedCompositeFieldContainer[Cluster]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, clusters: _Optional[_Iterable[_Union[Cluster, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...

class RegisterTaskDefinitionRequest(_message.Message):
    __slots__ = ("task_definition_json",)
    TASK_DEFINITION_JSON_FIELD_NUMBER: _ClassVar[int]
    task_definition_json: str
    def __init__(self, task_definition_json: _Optional[str] = ...) -> None: ...

class RegisterTaskDefinitionResponse(_message.Message):
    __slots__ = ("task_definition",)
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    task_definition: TaskDefinition
    def __init__(self, task_definition: _Optional[_Union[TaskDefinition, _Mapping]] = ...) -> None: ...

class DescribeTaskDefinitionRequest(_message.Message):
    __slots__ = ("task_definition",)
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    task_definition: str
    def __init__(self, task_definition: _Optional[str] = ...) -> None: ...

class DescribeTaskDefinitionResponse(_message.Message):
    __slots__ = ("task_definition",)
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    task_definition: TaskDefinition
    def __init__(self, task_definition: _Optional[_Union[TaskDefinition, _Mapping]] = ...) -> None: ...

class ListTaskDefinitionsRequest(_message.Message):
    __slots__ = ("family_prefix", "status")
    FAMILY_PREFIX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    family_prefix: str
    status: str
    def __init__(self, family_prefix: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ListTaskDefinitionsResponse(_message.Message):
    __slots__ = ("task_definition_arns",)
    TASK_DEFINITION_ARNS_FIELD_NUMBER: _ClassVar[int]
    task_definition_arns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_definition_arns: _Optional[_Iterable[str]] = ...) -> None: ...

class DeregisterTaskDefinitionRequest(_message.Message):
    __slots__ = ("task_definition",)
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    task_definition: str
    def __init__(self, task_definition: _Optional[str] = ...) -> None: ...

class DeregisterTaskDefinitionResponse(_message.Message):
    __slots__ = ("task_definition",)
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    task_definition: TaskDefinition
    def __init__(self, task_definition: _Optional[_Union[TaskDefinition, _Mapping]] = ...) -> None: ...

class RunTaskRequest(_message.Message):
    __slots__ = ("cluster", "task_definition", "count", "group", "started_by")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STARTED_BY_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    task_definition: str
    count: int
    group: str
    started_by: str
    def __init__(self, cluster: _Optional[str] = ..., task_definition: _Optional[str] = ..., count: _Optional[int] = ..., group: _Optional[str] = ..., started_by: _Optional[str] = ...) -> None: ...

class RunTaskResponse(_message.Message):
    __slots__ = ("tasks", "failures")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_types_pb2.Task]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_types_pb2.Task, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...

class StopTaskRequest(_message.Message):
    __slots__ = ("cluster", "task", "reason")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    task: str
    reason: str
    def __init__(self, cluster: _Optional[str] = ..., task: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class StopTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: _types_pb2.Task
    def __init__(self, task: _Optional[_Union[_types_pb2.Task, _Mapping]] = ...) -> None: ...

class DescribeTasksRequest(_message.Message):
    __slots__ = ("cluster", "tasks")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    tasks: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster: _Optional[str] = ..., tasks: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeTasksResponse(_message.Message):
    __slots__ = ("tasks", "failures")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_types_pb2.Task]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_types_pb2.Task, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("cluster", "family", "container_instance", "desired_status")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    DESIRED_STATUS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    family: str
    container_instance: str
    desired_status: str
    def __init__(self, cluster: _Optional[str] = ..., family: _Optional[str] = ..., container_instance: _Optional[str] = ..., desired_status: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("task_arns",)
    TASK_ARNS_FIELD_NUMBER: _ClassVar[int]
    task_arns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task_arns: _Optional[_Iterable[str]] = ...) -> None: ...

class ListContainerInstancesRequest(_message.Message):
    __slots__ = ("cluster", "status")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    status: str
    def __init__(self, cluster: _Optional[str] = ..., status: _Optional[str] = ...) -> None: ...

class ListContainerInstancesResponse(_message.Message):
    __slots__ = ("container_instance_arns",)
    CONTAINER_INSTANCE_ARNS_FIELD_NUMBER: _ClassVar[int]
    container_instance_arns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, container_instance_arns: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeContainerInstancesRequest(_message.Message):
    __slots__ = ("cluster", "container_instances")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    container_instances: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster: _Optional[str] = ..., container_instances: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeContainerInstancesResponse(_message.Message):
    __slots__ = ("container_instances", "failures")
    CONTAINER_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    container_instances: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerInstance]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, container_instances: _Optional[_Iterable[_Union[_types_pb2.ContainerInstance, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...
