"""Errors raised by services; views turn them into form errors, API errors or error pages."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(ServiceError):
    """Input that cannot be accepted; nothing was changed."""

    status = 422
    code = "validation_error"

    def __init__(self, field: str | None, message: str):
        super().__init__(message, field)


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"

    def __init__(self, message: str = "您无权进行此操作。"):
        super().__init__(message)


class NotFound(ServiceError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "未找到该对象。"):
        super().__init__(message)


class Conflict(ServiceError):
    """The request is valid but clashes with the current state (e.g. rated twice)."""

    status = 409
    code = "conflict"
