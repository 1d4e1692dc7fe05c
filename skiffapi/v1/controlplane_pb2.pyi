from skiffapi.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DeregisterContainerInstanceRequest(_message.Message):
    __slots__ = ("cluster", "container_instance", "force")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    container_instance: str
    force: bool
    def __init__(self, cluster: _Optional[str] = ..., container_instance: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeregisterContainerInstanceResponse(_message.Message):
    __slots__ = ("container_instance",)
    CONTAINER_INSTANCE_FIELD_NUMBER: _ClassVar[int]
    container_instance: _types_pb2.ContainerInstance
    def __init__(self, container_instance: _Optional[_Union[_types_pb2.ContainerInstance, _Mapping]] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("name", "role", "created_at_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    created_at_ms: int
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ..., created_at_ms: _Optional[int] = ...) -> None: ...

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("kind", "name", "role")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    name: str
    role: str
    def __init__(self, kind: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class CreateUserRequest(_message.Message):
    __slots__ = ("name", "role")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    role: str
    def __init__(self, name: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class CreateUserResponse(_message.Message):
    __slots__ = ("user", "token")
    USER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    user: User
    token: str
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class ListUsersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListUsersResponse(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[User]
    def __init__(self, users: _Optional[_Iterable[_Union[User, _Mapping]]] = ...) -> None: ...

class DeleteUserRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteUserResponse(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class RotateUserTokenRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class RotateUserTokenResponse(_message.Message):
    __slots__ = ("user", "token")
    USER_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    user: User
    token: str
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ..., token: _Optional[str] = ...) -> None: ...

class GetJoinTokenRequest(_message.Message):
    __slots__ = ("rotate",)
    ROTATE_FIELD_NUMBER: _ClassVar[int]
    rotate: bool
    def __init__(self, rotate: _Optional[bool] = ...) -> None: ...

class GetJoinTokenResponse(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class PlacementConstraint(_message.Message):
    __slots__ = ("type", "expression")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    type: str
    expression: str
    def __init__(self, type: _Optional[str] = ..., expression: _Optional[str] = ...) -> None: ...

class PlacementStrategy(_message.Message):
    __slots__ = ("type", "field")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    type: str
    field: str
    def __init__(self, type: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("cluster", "task_definition", "count", "group", "started_by", "placement_constraints", "placement_strategy")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STARTED_BY_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    task_definition: str
    count: int
    group: str
    started_by: str
    placement_constraints: _containers.RepeatedCompositeFieldContainer[PlacementConstraint]
    placement_strategy: _containers.RepeatedCompositeFieldContainer[PlacementStrategy]
    def __init__(self, cluster: _Optional[str] = ..., task_definition: _Optional[str] = ..., count: _Optional[int] = ..., group: _Optional[str] = ..., started_by: _Optional[str] = ..., placement_constraints: _Optional[_Iterable[_Union[PlacementConstraint, _Mapping]]] = ..., placement_strategy: _Optional[_Iterable[_Union[PlacementStrategy, _Mapping]]] = ...) -> None: ...

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

class StartTaskRequest(_message.Message):
    __slots__ = ("cluster", "task_definition", "container_instances", "group", "started_by")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    STARTED_BY_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    task_definition: str
    container_instances: _containers.RepeatedScalarFieldContainer[str]
    group: str
    started_by: str
    def __init__(self, cluster: _Optional[str] = ..., task_definition: _Optional[str] = ..., container_instances: _Optional[_Iterable[str]] = ..., group: _Optional[str] = ..., started_by: _Optional[str] = ...) -> None: ...

class StartTaskResponse(_message.Message):
    __slots__ = ("tasks", "failures")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[_types_pb2.Task]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, tasks: _Optional[_Iterable[_Union[_types_pb2.Task, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...

class ExplainTaskRequest(_message.Message):
    __slots__ = ("cluster", "task")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    task: str
    def __init__(self, cluster: _Optional[str] = ..., task: _Optional[str] = ...) -> None: ...

class ExplainTaskResponse(_message.Message):
    __slots__ = ("text", "explanation_json")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_JSON_FIELD_NUMBER: _ClassVar[int]
    text: str
    explanation_json: str
    def __init__(self, text: _Optional[str] = ..., explanation_json: _Optional[str] = ...) -> None: ...

class UpdateContainerInstancesStateRequest(_message.Message):
    __slots__ = ("cluster", "container_instances", "status")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    container_instances: _containers.RepeatedScalarFieldContainer[str]
    status: str
    def __init__(self, cluster: _Optional[str] = ..., container_instances: _Optional[_Iterable[str]] = ..., status: _Optional[str] = ...) -> None: ...

class UpdateContainerInstancesStateResponse(_message.Message):
    __slots__ = ("container_instances", "failures")
    CONTAINER_INSTANCES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    container_instances: _containers.RepeatedCompositeFieldContainer[_types_pb2.ContainerInstance]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, container_instances: _Optional[_Iterable[_Union[_types_pb2.ContainerInstance, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...

class TargetAttribute(_message.Message):
    __slots__ = ("name", "value", "target_type", "target_id")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    target_type: str
    target_id: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., target_type: _Optional[str] = ..., target_id: _Optional[str] = ...) -> None: ...

class PutAttributesRequest(_message.Message):
    __slots__ = ("cluster", "attributes")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    attributes: _containers.RepeatedCompositeFieldContainer[TargetAttribute]
    def __init__(self, cluster: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[TargetAttribute, _Mapping]]] = ...) -> None: ...

class PutAttributesResponse(_message.Message):
    __slots__ = ("attributes",)
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.RepeatedCompositeFieldContainer[TargetAttribute]
    def __init__(self, attributes: _Optional[_Iterable[_Union[TargetAttribute, _Mapping]]] = ...) -> None: ...

class DeleteAttributesRequest(_message.Message):
    __slots__ = ("cluster", "attributes")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    attributes: _containers.RepeatedCompositeFieldContainer[TargetAttribute]
    def __init__(self, cluster: _Optional[str] = ..., attributes: _Optional[_Iterable[_Union[TargetAttribute, _Mapping]]] = ...) -> None: ...

class DeleteAttributesResponse(_message.Message):
    __slots__ = ("attributes",)
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.RepeatedCompositeFieldContainer[TargetAttribute]
    def __init__(self, attributes: _Optional[_Iterable[_Union[TargetAttribute, _Mapping]]] = ...) -> None: ...

class ListAttributesRequest(_message.Message):
    __slots__ = ("cluster", "target_type", "attribute_name", "attribute_value")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TARGET_TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_NAME_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTE_VALUE_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    target_type: str
    attribute_name: str
    attribute_value: str
    def __init__(self, cluster: _Optional[str] = ..., target_type: _Optional[str] = ..., attribute_name: _Optional[str] = ..., attribute_value: _Optional[str] = ...) -> None: ...

class ListAttributesResponse(_message.Message):
    __slots__ = ("attributes",)
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    attributes: _containers.RepeatedCompositeFieldContainer[TargetAttribute]
    def __init__(self, attributes: _Optional[_Iterable[_Union[TargetAttribute, _Mapping]]] = ...) -> None: ...

class DeploymentConfiguration(_message.Message):
    __slots__ = ("minimum_healthy_percent", "maximum_percent", "circuit_breaker_enable", "circuit_breaker_rollback", "circuit_breaker_threshold")
    MINIMUM_HEALTHY_PERCENT_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_PERCENT_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_BREAKER_ENABLE_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_BREAKER_ROLLBACK_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_BREAKER_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    minimum_healthy_percent: int
    maximum_percent: int
    circuit_breaker_enable: bool
    circuit_breaker_rollback: bool
    circuit_breaker_threshold: int
    def __init__(self, minimum_healthy_percent: _Optional[int] = ..., maximum_percent: _Optional[int] = ..., circuit_breaker_enable: _Optional[bool] = ..., circuit_breaker_rollback: _Optional[bool] = ..., circuit_breaker_threshold: _Optional[int] = ...) -> None: ...

class Deployment(_message.Message):
    __slots__ = ("id", "status", "task_definition", "desired_count", "pending_count", "running_count", "failed_tasks", "rollout_state", "rollout_state_reason", "created_at_ms", "updated_at_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    DESIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_COUNT_FIELD_NUMBER: _ClassVar[int]
    FAILED_TASKS_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_STATE_FIELD_NUMBER: _ClassVar[int]
    ROLLOUT_STATE_REASON_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    id: str
    status: str
    task_definition: str
    desired_count: int
    pending_count: int
    running_count: int
    failed_tasks: int
    rollout_state: str
    rollout_state_reason: str
    created_at_ms: int
    updated_at_ms: int
    def __init__(self, id: _Optional[str] = ..., status: _Optional[str] = ..., task_definition: _Optional[str] = ..., desired_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., running_count: _Optional[int] = ..., failed_tasks: _Optional[int] = ..., rollout_state: _Optional[str] = ..., rollout_state_reason: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class ServiceEvent(_message.Message):
    __slots__ = ("id", "created_at_ms", "message")
    ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    created_at_ms: int
    message: str
    def __init__(self, id: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class Service(_message.Message):
    __slots__ = ("service_name", "service_arn", "cluster_arn", "status", "task_definition", "desired_count", "running_count", "pending_count", "scheduling_strategy", "deployment_configuration", "deployments", "events", "placement_constraints", "placement_strategy", "created_at_ms", "healthy_after_seconds")
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVICE_ARN_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ARN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    DESIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    RUNNING_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    service_name: str
    service_arn: str
    cluster_arn: str
    status: str
    task_definition: str
    desired_count: int
    running_count: int
    pending_count: int
    scheduling_strategy: str
    deployment_configuration: DeploymentConfiguration
    deployments: _containers.RepeatedCompositeFieldContainer[Deployment]
    events: _containers.RepeatedCompositeFieldContainer[ServiceEvent]
    placement_constraints: _containers.RepeatedCompositeFieldContainer[PlacementConstraint]
    placement_strategy: _containers.RepeatedCompositeFieldContainer[PlacementStrategy]
    created_at_ms: int
    healthy_after_seconds: int
    def __init__(self, service_name: _Optional[str] = ..., service_arn: _Optional[str] = ..., cluster_arn: _Optional[str] = ..., status: _Optional[str] = ..., task_definition: _Optional[str] = ..., desired_count: _Optional[int] = ..., running_count: _Optional[int] = ..., pending_count: _Optional[int] = ..., scheduling_strategy: _Optional[str] = ..., deployment_configuration: _Optional[_Union[DeploymentConfiguration, _Mapping]] = ..., deployments: _Optional[_Iterable[_Union[Deployment, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[ServiceEvent, _Mapping]]] = ..., placement_constraints: _Optional[_Iterable[_Union[PlacementConstraint, _Mapping]]] = ..., placement_strategy: _Optional[_Iterable[_Union[PlacementStrategy, _Mapping]]] = ..., created_at_ms: _Optional[int] = ..., healthy_after_seconds: _Optional[int] = ...) -> None: ...

class CreateServiceRequest(_message.Message):
    __slots__ = ("cluster", "service_name", "task_definition", "desired_count", "scheduling_strategy", "deployment_configuration", "placement_constraints", "placement_strategy", "healthy_after_seconds")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_NAME_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    DESIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULING_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    service_name: str
    task_definition: str
    desired_count: int
    scheduling_strategy: str
    deployment_configuration: DeploymentConfiguration
    placement_constraints: _containers.RepeatedCompositeFieldContainer[PlacementConstraint]
    placement_strategy: _containers.RepeatedCompositeFieldContainer[PlacementStrategy]
    healthy_after_seconds: int
    def __init__(self, cluster: _Optional[str] = ..., service_name: _Optional[str] = ..., task_definition: _Optional[str] = ..., desired_count: _Optional[int] = ..., scheduling_strategy: _Optional[str] = ..., deployment_configuration: _Optional[_Union[DeploymentConfiguration, _Mapping]] = ..., placement_constraints: _Optional[_Iterable[_Union[PlacementConstraint, _Mapping]]] = ..., placement_strategy: _Optional[_Iterable[_Union[PlacementStrategy, _Mapping]]] = ..., healthy_after_seconds: _Optional[int] = ...) -> None: ...

class CreateServiceResponse(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: Service
    def __init__(self, service: _Optional[_Union[Service, _Mapping]] = ...) -> None: ...

class UpdateServiceRequest(_message.Message):
    __slots__ = ("cluster", "service", "task_definition", "desired_count", "deployment_configuration", "force_new_deployment", "placement_constraints", "placement_strategy", "update_placement", "healthy_after_seconds")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    DESIRED_COUNT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    FORCE_NEW_DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_STRATEGY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_PLACEMENT_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    service: str
    task_definition: str
    desired_count: int
    deployment_configuration: DeploymentConfiguration
    force_new_deployment: bool
    placement_constraints: _containers.RepeatedCompositeFieldContainer[PlacementConstraint]
    placement_strategy: _containers.RepeatedCompositeFieldContainer[PlacementStrategy]
    update_placement: bool
    healthy_after_seconds: int
    def __init__(self, cluster: _Optional[str] = ..., service: _Optional[str] = ..., task_definition: _Optional[str] = ..., desired_count: _Optional[int] = ..., deployment_configuration: _Optional[_Union[DeploymentConfiguration, _Mapping]] = ..., force_new_deployment: _Optional[bool] = ..., placement_constraints: _Optional[_Iterable[_Union[PlacementConstraint, _Mapping]]] = ..., placement_strategy: _Optional[_Iterable[_Union[PlacementStrategy, _Mapping]]] = ..., update_placement: _Optional[bool] = ..., healthy_after_seconds: _Optional[int] = ...) -> None: ...

class UpdateServiceResponse(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: Service
    def __init__(self, service: _Optional[_Union[Service, _Mapping]] = ...) -> None: ...

class DeleteServiceRequest(_message.Message):
    __slots__ = ("cluster", "service", "force")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    service: str
    force: bool
    def __init__(self, cluster: _Optional[str] = ..., service: _Optional[str] = ..., force: _Optional[bool] = ...) -> None: ...

class DeleteServiceResponse(_message.Message):
    __slots__ = ("service",)
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    service: Service
    def __init__(self, service: _Optional[_Union[Service, _Mapping]] = ...) -> None: ...

class DescribeServicesRequest(_message.Message):
    __slots__ = ("cluster", "services")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cluster: _Optional[str] = ..., services: _Optional[_Iterable[str]] = ...) -> None: ...

class DescribeServicesResponse(_message.Message):
    __slots__ = ("services", "failures")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedCompositeFieldContainer[Service]
    failures: _containers.RepeatedCompositeFieldContainer[_types_pb2.Failure]
    def __init__(self, services: _Optional[_Iterable[_Union[Service, _Mapping]]] = ..., failures: _Optional[_Iterable[_Union[_types_pb2.Failure, _Mapping]]] = ...) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ("cluster",)
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    def __init__(self, cluster: _Optional[str] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("service_arns",)
    SERVICE_ARNS_FIELD_NUMBER: _ClassVar[int]
    service_arns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, service_arns: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportSnapshotRequest(_message.Message):
    __slots__ = ("cluster",)
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    def __init__(self, cluster: _Optional[str] = ...) -> None: ...

class ExportSnapshotResponse(_message.Message):
    __slots__ = ("snapshot_json",)
    SNAPSHOT_JSON_FIELD_NUMBER: _ClassVar[int]
    snapshot_json: str
    def __init__(self, snapshot_json: _Optional[str] = ...) -> None: ...

class GetTaskLogsRequest(_message.Message):
    __slots__ = ("cluster", "task", "container", "follow", "since_ms", "tail")
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    TAIL_FIELD_NUMBER: _ClassVar[int]
    cluster: str
    task: str
    container: str
    follow: bool
    since_ms: int
    tail: int
    def __init__(self, cluster: _Optional[str] = ..., task: _Optional[str] = ..., container: _Optional[str] = ..., follow: _Optional[bool] = ..., since_ms: _Optional[int] = ..., tail: _Optional[int] = ...) -> None: ...

class TaskLogData(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class Secret(_message.Message):
    __slots__ = ("name", "arn", "description", "created_at_ms", "updated_at_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARN_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    arn: str
    description: str
    created_at_ms: int
    updated_at_ms: int
    def __init__(self, name: _Optional[str] = ..., arn: _Optional[str] = ..., description: _Optional[str] = ..., created_at_ms: _Optional[int] = ..., updated_at_ms: _Optional[int] = ...) -> None: ...

class PutSecretRequest(_message.Message):
    __slots__ = ("name", "value", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    description: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class PutSecretResponse(_message.Message):
    __slots__ = ("secret", "created")
    SECRET_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    secret: Secret
    created: bool
    def __init__(self, secret: _Optional[_Union[Secret, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListSecretsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListSecretsResponse(_message.Message):
    __slots__ = ("secrets",)
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    secrets: _containers.RepeatedCompositeFieldContainer[Secret]
    def __init__(self, secrets: _Optional[_Iterable[_Union[Secret, _Mapping]]] = ...) -> None: ...

class DescribeSecretRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DescribeSecretResponse(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: Secret
    def __init__(self, secret: _Optional[_Union[Secret, _Mapping]] = ...) -> None: ...

class DeleteSecretRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteSecretResponse(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: Secret
    def __init__(self, secret: _Optional[_Union[Secret, _Mapping]] = ...) -> None: ...
