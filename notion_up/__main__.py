from notion_up.cli.main import main

main()
