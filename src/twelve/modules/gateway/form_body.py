"""A multipart request body (OpenAI's audio upload) read whole into a JSON body.

The same parser as `POST /v1/files` (`upload_form.FormParts`: one file part, few and small
fields), but the file's bytes are kept, base64, in the body (`file`: a `FilePart`), because the
request is forwarded to a model, not stored. The edge bounds the body at the route's own limit
(`media_limits.py`) before any of this runs. Form fields are text: the schema, in lax mode, reads
numbers and booleans out of them (`temperature=0.2`), and the body is its dump.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
from python_multipart.exceptions import MultipartParseError
from starlette.requests import Request

from twelve.kernel.errors import InvalidRequest
from twelve.kernel.http_errors import from_validation_error
from twelve.modules.gateway.upload_form import FormParts, form_parser
from twelve.modules.models.api import JSONObject, file_part


async def read_form(request: Request, schema: type[BaseModel]) -> JSONObject:
    form = FormParts()
    parser = form_parser(request, form)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError:
        raise InvalidRequest("The multipart body is malformed.") from None
    if not form.file_done:
        raise InvalidRequest("'file' is a required file field.", param="file")
    data: JSONObject = {**form.fields, **form.lists}
    data["file"] = file_part(
        bytes(form.data), form.file_name or "upload", form.file_type or "application/octet-stream"
    )
    try:
        parsed = schema.model_validate(data, strict=False)
    except ValidationError as exc:
        raise from_validation_error(exc, data) from None
    return parsed.model_dump(exclude_none=True)
