"""What the conformance gate tells schemathesis beyond Apple's document, and why.

Apple's OpenAPI document declares the list parameters (`fields[TYPE]`, `filter[...]`, `sort`) as
form-style, non-exploded arrays with no `minItems` and, for free text, no `minLength`. Read
literally, an empty list or an empty item is then a valid request; but an empty list and a list
holding one empty string serialize to the same request (`?fields[apps]=`), and the contract
altdist keeps (Apple's behaviour) refuses both: an empty value or an empty item in a list is a
400 `PARAMETER_ERROR.INVALID` naming the parameter. This hook writes that rule into the schema
schemathesis reads (`minItems: 1`, and on free-text items a pattern of one or more characters
other than a comma, since the comma separates the items), so that its positive phases send no
such request and its negative phases send them and expect the 400 altdist answers.
See docs/CONFORMANCE.md.
"""

import schemathesis


@schemathesis.hook
def before_load_schema(ctx, raw_schema):
    for item in raw_schema.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {}) if isinstance(parameter, dict) else {}
                if parameter.get("in") == "query" and schema.get("type") == "array":
                    schema["minItems"] = 1
                    items = schema.get("items", {})
                    if items.get("type") == "string" and "enum" not in items:
                        # Nor can an item hold a comma: it would read as two.
                        items.setdefault("pattern", "^[^,]+$")
                    if parameter.get("name", "").startswith("filter[createdDate"):
                        # Apple's deliveries filters compare dates: their items are date-times.
                        items["format"] = "date-time"


# The query parameters Apple's document declares as arrays; the others are integers or booleans.
ARRAY_PARAMETERS = ("fields[", "filter[", "sort")


@schemathesis.hook
def filter_query(ctx, query):
    """Leaves out the negative cases that form serialization turns back into valid requests.

    A query string has no types: an integer where an array belongs (`filter[sku]=-649`) is a
    valid one-item list once written, a one-item list where an integer belongs (`limit=5`) a
    valid integer, and an object is written as nothing at all. schemathesis would send such a
    request as "schema-violating" and demand a 4xx for what arrives as a valid request.
    """
    for name, value in (query or {}).items():
        is_array = name.startswith(ARRAY_PARAMETERS)
        if isinstance(value, dict) or is_array != isinstance(value, list):
            return False
    return True
