from notion_up.cli import main

main()
