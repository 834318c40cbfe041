"""Stream's filter and sort language compiled to ORM ``Q`` objects and orderings.

- ``language``: the filter language itself, its bounds, dates and values, and
  its compilation against the fields one query allows
- ``schemas``: those fields, for channels, users, members and messages
- ``sorting``: the sort keys of each query and the sort turned into orderings

The rest of the engine imports from here.
"""

from chatengine.filters.language import (
    MAX_FILTER_BYTES,
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_IN_VALUES,
    MAX_LOGICAL_TERMS,
    Context,
    FieldSpec,
    Schema,
    check_filter_bounds,
    check_in_values,
    coerce,
    compile_filter,
    custom_key,
    parse_date,
)
from chatengine.filters.schemas import (
    CHANNEL_SCHEMA,
    MAX_SEARCH_QUERY,
    MEMBER_SCHEMA,
    MESSAGE_SCHEMA,
    USER_SCHEMA,
    text_has_words,
)
from chatengine.filters.sorting import (
    MAX_SORT_FIELDS,
    SORTABLE_CHANNEL_FIELDS,
    SORTABLE_MEMBER_FIELDS,
    SORTABLE_MESSAGE_FIELDS,
    SORTABLE_USER_FIELDS,
    channel_last_updated,
    parse_sort,
)

__all__ = [
    "CHANNEL_SCHEMA",
    "MAX_FILTER_BYTES",
    "MAX_FILTER_CONDITIONS",
    "MAX_FILTER_DEPTH",
    "MAX_IN_VALUES",
    "MAX_LOGICAL_TERMS",
    "MAX_SEARCH_QUERY",
    "MAX_SORT_FIELDS",
    "MEMBER_SCHEMA",
    "MESSAGE_SCHEMA",
    "SORTABLE_CHANNEL_FIELDS",
    "SORTABLE_MEMBER_FIELDS",
    "SORTABLE_MESSAGE_FIELDS",
    "SORTABLE_USER_FIELDS",
    "USER_SCHEMA",
    "Context",
    "FieldSpec",
    "Schema",
    "channel_last_updated",
    "check_filter_bounds",
    "check_in_values",
    "coerce",
    "compile_filter",
    "custom_key",
    "parse_date",
    "parse_sort",
    "text_has_words",
]
