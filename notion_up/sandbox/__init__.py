from notion_up.localserver import *  # noqa  TEMP
