"""Bilingual messages for submission problems, by code."""

from __future__ import annotations

from typing import Any

MESSAGES = {
    "required": ("此项为必填项", "This field is required."),
    "not_relevant": ("此项在当前情况下不应填写", "This field does not apply here and must be left empty."),
    "type": ("格式不正确（应为{expected}）", "Wrong type of value: expected {expected}."),
    "out_of_range": ("数值超出允许范围", "The value is outside the allowed range{range}."),
    "constraint": ("不满足填写规则", "The value breaks the rule of this field."),
    "unknown_choice": ("不是可选的选项：{value}", "Not one of the choices: {value}."),
    "unknown_field": ("表单中没有此项", "This form has no such field."),
    "calculation_mismatch": ("计算值不一致（应为{expected}）", "The calculated value does not match: expected {expected}."),
}


def message(code: str, details: dict[str, Any], custom: dict[str, str] | None = None) -> str:
    """'中文 · English', from the field's own constraint message when it has one."""
    if custom and code == "constraint":
        return f"{custom['zh']} · {custom['en']}"
    zh, en = MESSAGES[code]
    values = {"expected": details.get("expected", ""), "value": details.get("value", ""), "range": _range(details)}
    return f"{zh.format(**values)} · {en.format(**values)}"


def _range(details: dict[str, Any]) -> str:
    parts = [f"{key} {details[key]}" for key in ("min", "max", "max_length", "max_accuracy_m") if details.get(key) is not None]
    return f" ({', '.join(parts)})" if parts else ""
