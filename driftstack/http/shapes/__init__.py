"""Every request and answer of the HTTP API, declared once as a pydantic model.

Validation, the problem's `errors[]` and the OpenAPI components all read these declarations.
"""
