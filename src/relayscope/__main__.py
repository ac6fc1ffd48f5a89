from relayscope.cli import main

main()
