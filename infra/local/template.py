"""Load template.yaml (SAM/CloudFormation) and resolve its intrinsic functions against local values.

Only what the local stack needs is supported; anything else raises TemplateError naming it, so a template
change that the local stack cannot honour fails loudly instead of deploying something different.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class TemplateError(Exception):
    """The template uses something the local stack does not support, or refers to something missing."""


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that reads CloudFormation short tags (!Ref, !GetAtt, !Sub, ...) into their long form."""


def _construct_short_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix in ("Ref", "Condition"):
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # The long form is [resource, attribute]; an attribute may itself contain dots (Endpoint.Address).
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


@dataclass(frozen=True)
class Template:
    path: Path
    body: dict[str, Any]

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Resources") or {})

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return dict(self.body.get("Outputs") or {})

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resource's Properties with the template's Globals merged in, as SAM does."""
        resource = self.resources[logical_id]
        own = dict(resource.get("Properties") or {})
        section = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api"}.get(
            resource["Type"]
        )
        if section is None:
            return own
        merged = _merge_globals((self.body.get("Globals") or {}).get(section) or {}, own)
        return dict(merged)


def _merge_globals(globals_: Any, own: Any) -> Any:
    # SAM's rules: maps merge key by key, lists concatenate (globals first), scalars of the resource win.
    if isinstance(globals_, dict) and isinstance(own, dict):
        merged = dict(globals_)
        for key, value in own.items():
            merged[key] = _merge_globals(globals_[key], value) if key in globals_ else value
        return merged
    if isinstance(globals_, list) and isinstance(own, list):
        return [*globals_, *own]
    return own


def load_template(path: str | Path) -> Template:
    path = Path(path).resolve()
    body = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(body, dict) or "Resources" not in body:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    if body.get("Conditions"):
        raise TemplateError("Conditions are not supported by the local stack")
    return Template(path=path, body=body)


def resolve_parameters(template: Template, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Each parameter's override or Default, checked against AllowedValues/MinValue/MaxValue."""
    declared: dict[str, dict[str, Any]] = template.body.get("Parameters") or {}
    overrides = dict(overrides or {})
    unknown = set(overrides) - set(declared)
    if unknown:
        raise TemplateError(f"parameter overrides for undeclared parameters: {sorted(unknown)}")
    values: dict[str, Any] = {}
    for name, spec in declared.items():
        if name in overrides:
            value = overrides[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default and no override")
        kind = spec.get("Type", "String")
        if kind == "Number":
            number = float(value)
            value = int(number) if number.is_integer() else number
            if "MinValue" in spec and value < spec["MinValue"]:
                raise TemplateError(f"parameter {name}={value} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and value > spec["MaxValue"]:
                raise TemplateError(f"parameter {name}={value} is above MaxValue {spec['MaxValue']}")
        elif kind == "CommaDelimitedList" and isinstance(value, str):
            value = [item.strip() for item in value.split(",")]
        elif kind == "String":
            value = str(value)
        if "AllowedValues" in spec and value not in spec["AllowedValues"]:
            raise TemplateError(f"parameter {name}={value!r} is not one of {spec['AllowedValues']}")
        values[name] = value
    return values


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_NO_VALUE = object()  # Ref AWS::NoValue: the key or list item disappears


@dataclass
class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Sub and Fn::Join against parameters and already created resources."""

    parameters: Mapping[str, Any]
    pseudo: Mapping[str, str]  # "AWS::Region" -> "us-east-1", ...
    declared_resources: frozenset[str]
    refs: dict[str, Any] = field(default_factory=dict)  # logical id -> value of Ref
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)  # logical id -> GetAtt values

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                return self.get_att(*_split_get_att(argument))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                delimiter, items = argument
                return str(delimiter).join(str(item) for item in self.resolve(items))
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic function {key} is not supported by the local stack")
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if name in self.declared_resources:
            raise TemplateError(f"{name} is referenced but was not created (skipped by the type filter?)")
        raise TemplateError(f"Ref to {name}: no such parameter, pseudo parameter or resource")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id not in self.attributes:
            self.ref(logical_id)  # raises the right error for a missing or skipped resource
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally") from None

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = self.resolve(variables)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the escape for a literal ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self.get_att(*_split_get_att(name)))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)


def _split_get_att(argument: Any) -> tuple[str, str]:
    if isinstance(argument, str):
        resource, _, attribute = argument.partition(".")
        return resource, attribute
    return str(argument[0]), str(argument[1])


def referenced_names(value: Any) -> set[str]:
    """Logical ids and parameter names a value refers to (Ref, GetAtt, Sub); used for dependency order."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_names(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(_split_get_att(argument)[0])
            elif key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                for name in _SUB_VARIABLE.findall(text):
                    if not name.startswith("!") and name not in variables:
                        found.add(name.split(".", 1)[0])
                found |= referenced_names(variables)
            else:
                found |= referenced_names(argument)
    return found
